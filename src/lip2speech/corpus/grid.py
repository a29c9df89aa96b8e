"""GRID corpus reader: scan a GRID tree for its utterances, their audio and alignments (`layout`), check their
media, and list and summarise its problems."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import Lip2SpeechError
from ..timebase import MIN_VIDEO_S
from .layout import (find_speakers, listing, route_folders, speaker_utterances, video_index, problem_text,
                     rel_path)
from .records import TOLERANCE_S, VIDEO_EXTS, CorpusScan, Utterance, natural_key


# ---- media check ---------------------------------------------------------------------------------


@dataclass
class _MediaCheck:
    key: str
    duration: float | None  # video duration in s, None when the video is unusable
    usable: bool
    problems: list[str]


def _check_media(item: tuple[Utterance, Path]) -> _MediaCheck:
    """Read the headers of one utterance's video and WAV; never raises."""
    import soundfile as sf

    from ..video.io import video_info

    utt, root = item
    problems: list[str] = []
    try:
        info = video_info(utt.video)
    except Lip2SpeechError as exc:
        # PyAV messages repeat the path and an errno code: keep the readable part.
        msg = re.sub(r"\[Errno -?\d+\] ", "", problem_text(exc)).replace(f": '{utt.video}'", "")
        return _MediaCheck(utt.key, None, False, [f"{rel_path(utt.video, root)}: {msg} (skipped)"])
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a corrupt video
        return _MediaCheck(utt.key, None, False, [f"{rel_path(utt.video, root)}: unreadable video "
                                                  f"({type(exc).__name__}: {exc}) (skipped)"])
    duration = info.duration if info.duration > 0 else (info.n_frames / info.fps if info.fps > 0 else 0.0)
    if duration <= 0 or info.n_frames <= 0:
        return _MediaCheck(utt.key, None, False, [f"{rel_path(utt.video, root)}: video has no frames (skipped)"])
    if duration < MIN_VIDEO_S:
        return _MediaCheck(utt.key, None, False, [f"{rel_path(utt.video, root)}: video lasts {duration:.2f} s, under "
                                                  f"{MIN_VIDEO_S:g} s: truncated? (skipped)"])
    if utt.audio is not None:
        try:
            wav = sf.info(str(utt.audio))
            wav_duration = wav.frames / wav.samplerate
        except Exception as exc:  # noqa: BLE001 - libsndfile errors
            msg = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
            return _MediaCheck(utt.key, duration, False,
                               [f"{rel_path(utt.audio, root)}: unreadable WAV ({msg}) (skipped)"])
        if abs(wav_duration - duration) > TOLERANCE_S:
            problems.append(f"{rel_path(utt.audio, root)}: WAV lasts {wav_duration:.2f} s but the video "
                            f"{duration:.2f} s")
    elif not info.has_audio:
        return _MediaCheck(utt.key, duration, False, [f"{rel_path(utt.video, root)}: missing audio: no WAV found "
                                                      "and the video has no audio track (skipped)"])
    if utt.word_times and utt.align is not None:
        end = max(e for _, _, e in utt.word_times)
        if end > duration + TOLERANCE_S:
            problems.append(f"{rel_path(utt.align, root)}: last word ends at {end:.2f} s, after the clip's end "
                            f"({duration:.2f} s)")
    return _MediaCheck(utt.key, duration, True, problems)


# ---- public entry point --------------------------------------------------------------------------


def scan_corpus(
    root: str | Path,
    speakers: Sequence[str] | None = None,
    check_media: bool = False,
    jobs: int = 1,
    show_progress: bool | None = None,
) -> CorpusScan:
    """Find every GRID utterance under `root` (any supported layout) and list the problems found.

    With `check_media`, also read each video and WAV header (on `jobs` processes, with a progress bar when
    `show_progress`, default: for 200 clips or more), drop clips whose media is unusable and fill durations.
    Raises `Lip2SpeechError` when `root` is missing or holds no GRID video.
    """
    root = Path(root)
    listing.cache_clear()  # a new scan sees the folders as they are now
    if not root.exists():
        raise Lip2SpeechError("corpus folder not found", root)
    if not root.is_dir():
        raise Lip2SpeechError("corpus path is not a folder", root)
    found = find_speakers(root)
    if not found:
        raise Lip2SpeechError(f"no videos ({', '.join(VIDEO_EXTS)}) found in the folder or its speaker "
                              "folders (expected <root>/<speaker>/*.mpg or <root>/<speaker>/video/*.mpg)", root)
    problems: list[str] = []
    if speakers is not None:
        wanted = list(dict.fromkeys(speakers))
        for s in wanted:
            if s not in found:
                problems.append(f"{root}: speaker {s} not found (have {', '.join(sorted(found, key=natural_key))})")
        if not set(wanted) & found.keys():
            raise Lip2SpeechError(f"none of the speakers {', '.join(wanted)} found", root)
    else:
        wanted = list(found)
    chosen = sorted(set(wanted) & found.keys(), key=natural_key)

    # Videos of every speaker (also unselected ones) tell which speaker each audio/alignment folder belongs to.
    scratch: list[str] = []
    videos = {spk: video_index(root, folder, problems if spk in chosen else scratch)
              for spk, folder in sorted(found.items(), key=lambda kv: natural_key(kv[0]))}
    audio_dirs, align_dirs = route_folders(root, videos, set(chosen), problems)
    utterances: list[Utterance] = []
    for spk in chosen:
        utterances.extend(speaker_utterances(root, spk, found[spk], videos[spk], audio_dirs[spk],
                                              align_dirs[spk], problems))
    utterances.sort(key=lambda u: u.key)
    if not utterances:
        raise Lip2SpeechError("no video with a GRID sentence name (like bbaf2n.mpg) found", root)

    durations: dict[str, float] = {}
    if check_media:
        from ..parallel import run_jobs

        if show_progress is None:
            show_progress = len(utterances) >= 200
        report = run_jobs(_check_media, [(u, root) for u in utterances], jobs=jobs,
                          desc="checking media", show_progress=show_progress)
        problems.extend(report.failures)  # only if a worker itself crashed
        checks = {c.key: c for c in report.results}
        for u in utterances:
            if u.key in checks:
                problems.extend(checks[u.key].problems)
                if checks[u.key].usable:
                    durations[u.key] = float(checks[u.key].duration)
        utterances = [u for u in utterances if u.key in durations]
    listing.cache_clear()  # do not hold the listing of a large corpus after the scan
    return CorpusScan(root, utterances, problems, durations)


# ---- summary -------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """Human duration: `17.9 s`, `12.5 min` or `27 h 48 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min"


def describe_scan(scan: CorpusScan) -> list[str]:
    """The lines `lip2speech corpus info` prints: totals, one line per speaker, then every problem."""
    groups = scan.by_speaker()
    timed = bool(scan.durations)
    lines = [f"corpus: {scan.root}",
             f"speakers: {len(groups)} ({', '.join(groups)})",
             f"utterances: {len(scan.utterances)}"
             + (f", total duration {format_duration(scan.total_duration)}" if timed else "")]
    width = max((len(s) for s in groups), default=0)
    count_width = max((len(str(len(u))) for u in groups.values()), default=0)
    durs = {s: format_duration(sum(scan.durations.get(u.key, 0.0) for u in utts)) for s, utts in groups.items()}
    dur_width = max((len(d) for d in durs.values()), default=0)
    for spk, utts in groups.items():
        n_wav = sum(u.audio is not None for u in utts)
        n_align = sum(u.word_times is not None for u in utts)
        lines.append(f"  {spk:<{width}}  {len(utts):>{count_width}} utterances"
                     + (f", {durs[spk]:>{dur_width}}" if timed else "")
                     + f", audio: {n_wav} WAV + {len(utts) - n_wav} from video, {n_align} aligned")
    if scan.problems:
        lines.append(f"problems ({len(scan.problems)}):")
        lines.extend(f"  {p}" for p in scan.problems)
    else:
        lines.append("no problems found")
    return lines
