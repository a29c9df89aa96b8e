"""GRID corpus reader: find the utterances of a GRID tree, their audio and alignments, and list its problems."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import Lip2SpeechError
from .grammar import sentence_from_name

#: Video file extensions recognised (lower case), in order of preference when a clip has several.
VIDEO_EXTS: tuple[str, ...] = (".mpg", ".mp4", ".avi", ".mov")
#: `.align` time unit: 1/25000 s.
ALIGN_UNITS_PER_S = 25000.0
#: Largest tolerated difference (s) between a WAV and its video, or an alignment's end and the clip's end.
TOLERANCE_S = 0.1
#: Alignment labels that mark silence / short pause, not words.
SILENCE = frozenset({"sil", "sp"})
#: Fewest file names that must match another speaker's videos before a folder is taken as that speaker's.
_MIN_SWAP_EVIDENCE = 5
#: Folder names that hold other things than a speaker's videos (never taken as a speaker).
_NOT_SPEAKERS = frozenset({"align", "alignments", "truth", "__macosx"})


@dataclass(frozen=True)
class Utterance:
    """One GRID clip: speaker, file stem, the six words, word times (s) when aligned, and its files."""

    speaker: str
    uid: str
    words: tuple[str, ...]
    word_times: tuple[tuple[str, float, float], ...] | None
    video: Path
    audio: Path | None
    align: Path | None

    @property
    def key(self) -> str:
        """Unique name `speaker/uid`, e.g. `s1/bbaf2n`."""
        return f"{self.speaker}/{self.uid}"

    @property
    def audio_source(self) -> Path:
        """The file to take the audio from: the separate WAV, else the video (its own audio track)."""
        return self.audio if self.audio is not None else self.video

    @property
    def sentence(self) -> str:
        """The six words joined by spaces."""
        return " ".join(self.words)


@dataclass
class CorpusScan:
    """Result of `scan_corpus`: usable utterances sorted by key, one line per problem found, durations (s)."""

    root: Path
    utterances: list[Utterance]
    problems: list[str]
    #: key -> video duration in seconds (filled only by `check_media=True`).
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        """Speaker names in natural order (s1, s2, ..., s10)."""
        return sorted({u.speaker for u in self.utterances}, key=natural_key)

    def by_speaker(self) -> dict[str, list[Utterance]]:
        """Utterances grouped per speaker, speakers in natural order."""
        groups: dict[str, list[Utterance]] = {s: [] for s in self.speakers}
        for u in self.utterances:
            groups[u.speaker].append(u)
        return groups

    @property
    def total_duration(self) -> float:
        """Sum of the checked video durations in seconds (0 unless scanned with `check_media=True`)."""
        return float(sum(self.durations.values()))


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically (s2 before s10)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def read_align(path: str | Path) -> list[tuple[str, float, float]]:
    """All `(label, start s, end s)` entries of a GRID `.align` file (units 1/25000 s), `sil`/`sp` included."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise Lip2SpeechError(f"cannot read alignment ({exc.strerror or exc})", path) from None
    entries: list[tuple[str, float, float]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 3:
                raise ValueError
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            raise Lip2SpeechError(f"line {n}: expected 'start end word', got {line.strip()[:60]!r}", path) from None
        if start < 0 or end < start:
            raise Lip2SpeechError(f"line {n}: bad times {parts[0]} {parts[1]}", path)
        if entries and start < entries[-1][2] * ALIGN_UNITS_PER_S - 1e-6:
            raise Lip2SpeechError(f"line {n}: starts before the previous entry ends", path)
        entries.append((parts[2].lower(), start / ALIGN_UNITS_PER_S, end / ALIGN_UNITS_PER_S))
    if not entries:
        raise Lip2SpeechError("alignment file has no entries", path)
    return entries


# ---- discovery -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _listing(folder: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(plain files sorted by name, sub-folders in natural order) of `folder`, hidden ones left out; listed once
    per scan (scan_corpus clears the cache), however many layouts ask about the folder."""
    if not folder.is_dir():
        return (), ()
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    files = sorted((p for p in entries if p.is_file()), key=lambda p: p.name)
    dirs = sorted((p for p in entries if p.is_dir()), key=lambda p: natural_key(p.name))
    return tuple(files), tuple(dirs)


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Plain files in `folder` whose lower-case suffix is in `suffixes`, sorted by name (empty if no folder)."""
    return [p for p in _listing(folder)[0] if p.suffix.lower() in suffixes]


def _subdirs(folder: Path) -> list[Path]:
    return list(_listing(folder)[1])


def _video_dirs(spk_dir: Path) -> list[Path]:
    """Where a speaker folder keeps its videos: itself, `video/`, and GRID's `video/mpg_6000/`."""
    video = spk_dir / "video"
    return [spk_dir, video] + [d for d in _subdirs(video) if d.name.lower().startswith("mpg")]


def _audio_roots(root: Path) -> list[Path]:
    """Top-level audio folders holding one folder per speaker: `audio/`, `audio_25k/`, `audio_50k/`..."""
    return [d for d in _subdirs(root) if d.name.lower().startswith("audio")]


def _find_speakers(root: Path) -> dict[str, Path]:
    """Speaker name -> speaker folder. The root itself is one speaker (named after it) when it holds videos."""
    speakers: dict[str, Path] = {}
    if any(_files(d, VIDEO_EXTS) for d in _video_dirs(root)):
        speakers[root.resolve().name or "root"] = root
    claimed = {root / "video"} if speakers else set()
    for child in _subdirs(root):
        if child in claimed or child.name.lower() in _NOT_SPEAKERS or child.name.lower().startswith("audio"):
            continue
        if any(_files(d, VIDEO_EXTS) for d in _video_dirs(child)):
            speakers.setdefault(child.name, child)
    return speakers


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _message(exc: Lip2SpeechError) -> str:
    """The problem part of an error message (without its leading `path: `)."""
    text = str(exc)
    prefix = f"{exc.path}: " if exc.path is not None else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _first_by_stem(files: list[Path], problems: list[str], root: Path, kind: str) -> dict[str, Path]:
    """Stem -> first file (files in preference order); later files with the same stem are reported."""
    out: dict[str, Path] = {}
    for f in files:
        stem = f.stem.lower()
        if stem in out:
            problems.append(f"{_rel(f, root)}: duplicate {kind} of {_rel(out[stem], root)} (ignored)")
        else:
            out[stem] = f
    return out


def _video_index(root: Path, spk_dir: Path, problems: list[str]) -> dict[str, Path]:
    """Stem -> video of one speaker folder; folder order first, then extension order within a folder."""
    videos = [f for d in _video_dirs(spk_dir)
              for f in sorted(_files(d, VIDEO_EXTS), key=lambda p: VIDEO_EXTS.index(p.suffix.lower()))]
    return _first_by_stem(videos, problems, root, "video")


def _route_folders(root: Path, videos: dict[str, dict[str, Path]], report: set[str],
                   problems: list[str]) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Give each `audio*/<x>/`, `align/<x>/`, `alignments/<x>/` folder to a speaker: per speaker (WAV, align) folders.

    A folder goes to the speaker it is named after unless its file names clearly match another speaker's
    videos (the public GRID download swaps some alignment folders); problems are kept for speakers in `report`.
    """
    audio: dict[str, list[Path]] = {s: [] for s in videos}
    align: dict[str, list[Path]] = {s: [] for s in videos}
    groups = [(a, ".wav", "WAV", audio) for a in _audio_roots(root)]
    groups += [(root / "align", ".align", "alignment", align), (root / "alignments", ".align", "alignment", align)]
    for parent, ext, kind, out in groups:
        for d in _subdirs(parent):
            stems = {f.stem.lower() for f in _files(d, (ext,))}
            if not stems:
                continue
            own = len(stems & videos.get(d.name, {}).keys())
            best, hits = max(((s, len(stems & v.keys())) for s, v in videos.items()), key=lambda t: t[1])
            target = d.name
            if best != d.name and hits >= _MIN_SWAP_EVIDENCE and hits > max(2 * own, len(stems) // 2):
                target = best
                if report & {d.name, best}:
                    problems.append(f"{_rel(d, root)}: holds the {kind} files of {best}, not {d.name} ({hits} of "
                                    f"{len(stems)} names match {best}'s videos, {own} {d.name}'s; used for {best})")
            if target in out:
                out[target].append(d)
            elif report == set(videos):  # reported only when scanning every speaker
                problems.append(f"{_rel(d, root)}: {len(stems)} {kind} file(s) but no videos of speaker "
                                f"{d.name} (ignored)")
    for out in (audio, align):
        for spk, dirs in out.items():
            dirs.sort(key=lambda d: d.name != spk)  # a speaker's own-named folder first
    return audio, align


def _first_in_dirs(dirs: list[Path], suffix: str) -> dict[str, Path]:
    """Lower-case stem -> the first `suffix` file with that stem, searching `dirs` in order (copies are normal)."""
    out: dict[str, Path] = {}
    for f in (f for d in dict.fromkeys(dirs) for f in _files(d, (suffix,))):
        out.setdefault(f.stem.lower(), f)
    return out


def _speaker_utterances(root: Path, speaker: str, spk_dir: Path, video_of: dict[str, Path],
                        audio_dirs: list[Path], align_dirs: list[Path], problems: list[str]) -> list[Utterance]:
    audio_dirs = [spk_dir, spk_dir / "audio"] + audio_dirs
    align_dirs = [spk_dir, spk_dir / "align", spk_dir / "alignments"] + align_dirs
    # Several copies of one clip's audio/alignment in different folders are normal: take the first quietly.
    # (for a flat root that is itself the speaker, `spk_dir / "align"` is `<root>/align/*.align`)
    audio_of = _first_in_dirs(audio_dirs, ".wav")
    align_of = _first_in_dirs(align_dirs, ".align")

    utterances = []
    for stem, video in video_of.items():
        try:
            words = sentence_from_name(stem)
        except Lip2SpeechError as exc:
            problems.append(f"{_rel(video, root)}: {_message(exc)} (skipped)")
            continue
        align = align_of.get(stem)
        word_times = None
        if align is not None:
            try:
                entries = read_align(align)
            except Lip2SpeechError as exc:
                problems.append(f"{_rel(align, root)}: {_message(exc)} (alignment ignored)")
                align = None
            else:
                word_times = tuple(e for e in entries if e[0] not in SILENCE)
                said = tuple(w for w, _, _ in word_times)
                if said != words:
                    problems.append(f"{_rel(align, root)}: words '{' '.join(said)}' disagree with the file "
                                    f"name '{' '.join(words)}' (alignment ignored)")
                    align, word_times = None, None
        utterances.append(Utterance(speaker, stem, words, word_times, video, audio_of.get(stem), align))

    if audio_of.keys() & video_of.keys():
        for u in utterances:
            if u.audio is None:
                problems.append(f"{_rel(u.video, root)}: no WAV beside the other clips of {speaker} "
                                "(using the video's own audio track)")
    for kind, found in (("WAV", audio_of), ("alignment", align_of)):
        orphans = sorted(found.keys() - video_of.keys())
        if orphans:
            where = _rel(found[orphans[0]].parent, root)
            problems.append(f"{where}: {len(orphans)} {kind} file(s) of {speaker} without a video "
                            f"(e.g. {orphans[0]}; ignored)")
    return utterances


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
        msg = re.sub(r"\[Errno -?\d+\] ", "", _message(exc)).replace(f": '{utt.video}'", "")
        return _MediaCheck(utt.key, None, False, [f"{_rel(utt.video, root)}: {msg} (skipped)"])
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a corrupt video
        return _MediaCheck(utt.key, None, False, [f"{_rel(utt.video, root)}: unreadable video "
                                                  f"({type(exc).__name__}: {exc}) (skipped)"])
    duration = info.duration if info.duration > 0 else (info.n_frames / info.fps if info.fps > 0 else 0.0)
    if duration <= 0 or info.n_frames <= 0:
        return _MediaCheck(utt.key, None, False, [f"{_rel(utt.video, root)}: video has no frames (skipped)"])
    if utt.audio is not None:
        try:
            wav = sf.info(str(utt.audio))
            wav_duration = wav.frames / wav.samplerate
        except Exception as exc:  # noqa: BLE001 - libsndfile errors
            msg = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
            return _MediaCheck(utt.key, duration, False,
                               [f"{_rel(utt.audio, root)}: unreadable WAV ({msg}) (skipped)"])
        if abs(wav_duration - duration) > TOLERANCE_S:
            problems.append(f"{_rel(utt.audio, root)}: WAV lasts {wav_duration:.2f} s but the video "
                            f"{duration:.2f} s")
    elif not info.has_audio:
        return _MediaCheck(utt.key, duration, False, [f"{_rel(utt.video, root)}: missing audio: no WAV found "
                                                      "and the video has no audio track (skipped)"])
    if utt.word_times and utt.align is not None:
        end = max(e for _, _, e in utt.word_times)
        if end > duration + TOLERANCE_S:
            problems.append(f"{_rel(utt.align, root)}: last word ends at {end:.2f} s, after the clip's end "
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
    _listing.cache_clear()  # a new scan sees the folders as they are now
    if not root.exists():
        raise Lip2SpeechError("corpus folder not found", root)
    if not root.is_dir():
        raise Lip2SpeechError("corpus path is not a folder", root)
    found = _find_speakers(root)
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
    videos = {spk: _video_index(root, folder, problems if spk in chosen else scratch)
              for spk, folder in sorted(found.items(), key=lambda kv: natural_key(kv[0]))}
    audio_dirs, align_dirs = _route_folders(root, videos, set(chosen), problems)
    utterances: list[Utterance] = []
    for spk in chosen:
        utterances.extend(_speaker_utterances(root, spk, found[spk], videos[spk], audio_dirs[spk],
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
    _listing.cache_clear()  # do not hold the listing of a large corpus after the scan
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
