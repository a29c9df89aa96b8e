"""Where a GRID tree keeps its files: the speaker folders (any supported layout), each speaker's videos, and
which audio and alignment folders belong to which speaker; returns each speaker's utterances with their problems."""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import Lip2SpeechError
from .grammar import sentence_from_name
from .records import SILENCE, VIDEO_EXTS, Utterance, natural_key, read_align

#: Fewest file names that must match another speaker's videos before a folder is taken as that speaker's.
MIN_SWAP_EVIDENCE = 5
#: Folder names that hold other things than a speaker's videos (never taken as a speaker).
NOT_SPEAKERS = frozenset({"align", "alignments", "truth", "__macosx"})


@functools.lru_cache(maxsize=None)
def listing(folder: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
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
    return [p for p in listing(folder)[0] if p.suffix.lower() in suffixes]


def _subdirs(folder: Path) -> list[Path]:
    return list(listing(folder)[1])


def _video_dirs(spk_dir: Path) -> list[Path]:
    """Where a speaker folder keeps its videos: itself, `video/`, and GRID's `video/mpg_6000/`."""
    video = spk_dir / "video"
    return [spk_dir, video] + [d for d in _subdirs(video) if d.name.lower().startswith("mpg")]


def _audio_roots(root: Path) -> list[Path]:
    """Top-level audio folders holding one folder per speaker: `audio/`, `audio_25k/`, `audio_50k/`..."""
    return [d for d in _subdirs(root) if d.name.lower().startswith("audio")]


def find_speakers(root: Path) -> dict[str, Path]:
    """Speaker name -> speaker folder. The root itself is one speaker (named after it) when it holds videos."""
    speakers: dict[str, Path] = {}
    if any(_files(d, VIDEO_EXTS) for d in _video_dirs(root)):
        speakers[root.resolve().name or "root"] = root
    claimed = {root / "video"} if speakers else set()
    for child in _subdirs(root):
        if child in claimed or child.name.lower() in NOT_SPEAKERS or child.name.lower().startswith("audio"):
            continue
        if any(_files(d, VIDEO_EXTS) for d in _video_dirs(child)):
            speakers.setdefault(child.name, child)
    return speakers


def rel_path(path: Path, root: Path) -> str:
    """`path` relative to the corpus root when it lies below it (for problem lines)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def problem_text(exc: Lip2SpeechError) -> str:
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
            problems.append(f"{rel_path(f, root)}: duplicate {kind} of {rel_path(out[stem], root)} (ignored)")
        else:
            out[stem] = f
    return out


def video_index(root: Path, spk_dir: Path, problems: list[str]) -> dict[str, Path]:
    """Stem -> video of one speaker folder; folder order first, then extension order within a folder."""
    videos = [f for d in _video_dirs(spk_dir)
              for f in sorted(_files(d, VIDEO_EXTS), key=lambda p: VIDEO_EXTS.index(p.suffix.lower()))]
    return _first_by_stem(videos, problems, root, "video")


def route_folders(root: Path, videos: dict[str, dict[str, Path]], report: set[str],
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
            if best != d.name and hits >= MIN_SWAP_EVIDENCE and hits > max(2 * own, len(stems) // 2):
                target = best
                if report & {d.name, best}:
                    problems.append(f"{rel_path(d, root)}: holds the {kind} files of {best}, not {d.name} ({hits} of "
                                    f"{len(stems)} names match {best}'s videos, {own} {d.name}'s; used for {best})")
            if target in out:
                out[target].append(d)
            elif report == set(videos):  # reported only when scanning every speaker
                problems.append(f"{rel_path(d, root)}: {len(stems)} {kind} file(s) but no videos of speaker "
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


def speaker_utterances(root: Path, speaker: str, spk_dir: Path, video_of: dict[str, Path],
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
            problems.append(f"{rel_path(video, root)}: {problem_text(exc)} (skipped)")
            continue
        align = align_of.get(stem)
        word_times = None
        if align is not None:
            try:
                entries = read_align(align)
            except Lip2SpeechError as exc:
                problems.append(f"{rel_path(align, root)}: {problem_text(exc)} (alignment ignored)")
                align = None
            else:
                word_times = tuple(e for e in entries if e[0] not in SILENCE)
                said = tuple(w for w, _, _ in word_times)
                if said != words:
                    problems.append(f"{rel_path(align, root)}: words '{' '.join(said)}' disagree with the file "
                                    f"name '{' '.join(words)}' (alignment ignored)")
                    align, word_times = None, None
        utterances.append(Utterance(speaker, stem, words, word_times, video, audio_of.get(stem), align))

    if audio_of.keys() & video_of.keys():
        for u in utterances:
            if u.audio is None:
                problems.append(f"{rel_path(u.video, root)}: no WAV beside the other clips of {speaker} "
                                "(using the video's own audio track)")
    for kind, found in (("WAV", audio_of), ("alignment", align_of)):
        orphans = sorted(found.keys() - video_of.keys())
        if orphans:
            where = rel_path(found[orphans[0]].parent, root)
            problems.append(f"{where}: {len(orphans)} {kind} file(s) of {speaker} without a video "
                            f"(e.g. {orphans[0]}; ignored)")
    return utterances
