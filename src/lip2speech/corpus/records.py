"""GRID's records: one utterance (its words, times and files), the result of a corpus scan, alignment files,
and the natural order of file names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Lip2SpeechError

#: Video file extensions recognised (lower case), in order of preference when a clip has several.
VIDEO_EXTS: tuple[str, ...] = (".mpg", ".mp4", ".avi", ".mov")
#: `.align` time unit: 1/25000 s.
ALIGN_UNITS_PER_S = 25000.0
#: Largest tolerated difference (s) between a WAV and its video, or an alignment's end and the clip's end.
TOLERANCE_S = 0.1
#: Alignment labels that mark silence / short pause, not words.
SILENCE = frozenset({"sil", "sp"})


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
