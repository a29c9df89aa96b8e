"""Prepare a corpus into a features folder (store.FeatureStore: one .npz per prepared utterance plus a
manifest), and the generated features folder of the tests and benchmarks.

Finished items are skipped on a re-run, so an interrupted or sharded preparation simply resumes.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from ..lips.crop_size import FACE_SIZE
from ..timebase import BINS, DEFAULT_FS, SPEC_FRAME_S, frame_times
from .store import LIP_FIELDS, FeatureStore, entry_from_file, feature_config, item_path, read_fields, write_item


@dataclass
class PrepareReport:
    """Outcome of `prepare`: items written now (of them, with a reused lip track), items already there,
    failures (one line each)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    out: Path | None = None
    reused_tracks: list[str] = field(default_factory=list)

    def summary(self) -> str:
        reused = f" ({len(self.reused_tracks)} from existing lip tracks)" if self.reused_tracks else ""
        return (f"{len(self.written)} prepared{reused}, {len(self.skipped)} already done, "
                f"{len(self.failures)} failed -> {self.out}")


def parse_shard(shard: str | None) -> tuple[int, int]:
    """'i/n' (1-based) -> (i, n); None -> (1, 1)."""
    if not shard:
        return 1, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise Lip2SpeechError(f"--shard must look like i/n with 1 <= i <= n, got {shard!r}")
    return int(m.group(1)), int(m.group(2))


def _extract(args: tuple[Any, str, int, str | None, float | None, int]) -> dict[str, Any]:
    """Worker: features of one utterance written to its .npz; returns its manifest entry."""
    from ..audio import auditory_spectrogram, load_audio
    from ..lips.track import extract_lips, load_track_for

    utt, out, fs, track_path, width, face_size = args
    aud = auditory_spectrogram(load_audio(utt.audio_source, fs=fs), fs=fs).astype(np.float32)
    # a `lip2speech lips` track of the same video is reused (it must come from the default front end, same scale)
    track = (load_track_for(track_path, width, face_size) if track_path is not None
             else extract_lips(utt.video, mouth_width=width, face_size=face_size))
    valid = np.asarray(track.valid, dtype=bool)
    if not valid.any():
        raise Lip2SpeechError("no face found in any frame", utt.video)
    wt = utt.word_times or ()
    return write_item(out, utt.key, aud, lips_from_track(track), utt.speaker, utt.words, wt)


def prepare(corpus: str | Path, out: str | Path, speakers: Sequence[str] | None = None, jobs: int = 1,
            shard: str | tuple[int, int] | None = None, show_progress: bool = True,
            fs: int | None = None, lips_dir: str | Path | None = None,
            mouth_width: float | None = None, face_size: int = FACE_SIZE) -> PrepareReport:
    """Extract spectrogram + lip track of every utterance of `corpus` (or of `speakers`) into `out`.

    fs: audio rate of the auditory spectrogram (Hz; 8000 as published, or 16000); None: the existing folder's
    rate, else 8000. lips_dir: a folder written by `lip2speech lips CORPUS --out lips_dir`; a video's track
    there (lips_dir/<path below corpus>.npz) is used instead of extracting the lips again. mouth_width (px): bring
    every video to that median mouth box width (recorded in out/framing.json; None: video px, as published).
    face_size (px): the side of the grey face crops (their mouth region is half as high); a folder holds one."""
    from ..corpus import scan_corpus

    out = Path(out)
    i, n = shard if isinstance(shard, tuple) else parse_shard(shard)
    store = None
    if (out / "features.json").exists():  # an existing folder keeps its rate (another one asked is an error)
        store = FeatureStore(out, None if fs is None else feature_config(fs))
    scan = scan_corpus(corpus, speakers=list(speakers) if speakers else None)
    if not scan.utterances:  # before the features folder is made: nothing is left behind
        raise Lip2SpeechError("no usable utterances found", corpus)
    if store is None:
        store = FeatureStore.create(out, DEFAULT_FS if fs is None else fs)
    fs = store.fs
    check_folder_width(out, mouth_width, next((out / "items").rglob("*.npz"), None) is not None)
    check_folder_faces(out, face_size)
    mine = [u for j, u in enumerate(sorted(scan.utterances, key=lambda u: u.key)) if j % n == i - 1]
    report = PrepareReport(out=out, failures=[f"scan: {p}" for p in scan.problems])
    entries = prepare_utterances(store, mine, report, jobs, show_progress, mouth_width,
                                 lambda u: _track_path(lips_dir, corpus, u.video), face_size=face_size)
    scanned = {u.key for u in mine}  # items of another corpus prepared into the same folder stay listed
    for e in store.manifest_part((i, n)):
        if e["key"] not in scanned and e["key"] not in entries and item_path(out, e["key"]).exists():
            entries[e["key"]] = e
    store.write_manifest([entries[k] for k in sorted(entries)], (i, n))
    return report


def prepare_utterances(store: FeatureStore, utterances: Sequence[Any], report: PrepareReport, jobs: int = 1,
                       show_progress: bool = True, mouth_width: float | None = None,
                       track_of: Callable[[Any], str | None] = lambda u: None,
                       desc: str = "prepare", face_size: int = FACE_SIZE) -> dict[str, dict[str, Any]]:
    """Prepare `utterances` into `store` (items already there are kept: resume) at `mouth_width` px, face crops
    `face_size` px a side, each from its
    `lip2speech lips` file `track_of(u)` when there is one; fills `report` (written, skipped, reused_tracks,
    failures) and returns key -> manifest entry of every utterance that has an item now."""
    from ..parallel import run_jobs

    out = store.path
    entries: dict[str, dict[str, Any]] = {}
    todo = []
    for u in utterances:
        p = item_path(out, u.key)
        entry = entry_from_file(u.key, p) if p.exists() else None
        if entry is not None:
            entries[u.key] = entry
            report.skipped.append(u.key)
        else:
            todo.append((u, str(out), store.fs, track_of(u), mouth_width, face_size))
    res = run_jobs(_extract, todo, jobs=jobs, desc=desc, show_progress=show_progress)
    with_track = {u.key for u, _, _, track, _, _ in todo if track is not None}
    for e in res.results:
        entries[e["key"]] = e
        report.written.append(e["key"])
        if e["key"] in with_track:
            report.reused_tracks.append(e["key"])
    report.failures += res.failures
    return entries


def check_folder_width(out: Path, width: float | None, has_items: bool) -> None:
    """Record the mouth width (px) of a features folder, or refuse another one than its items were made at."""
    from ..lips.framing import FRAMING_FILE, read_mouth_width, same_width, write_mouth_width

    recorded = read_mouth_width(out)
    if (has_items or (out / FRAMING_FILE).is_file()) and not same_width(recorded, width):
        def say(w: float | None) -> str:
            return "video px" if w is None else f"mouth width {w:g} px"

        raise Lip2SpeechError(f"this features folder was prepared at {say(recorded)}, not {say(width)}: use "
                              "another --out or the same --mouth-width", out)
    if width is not None:
        write_mouth_width(out, width)


def folder_face_size(out: Path) -> int | None:
    """The side (px) of the face crops a features folder's items hold, from one of them; None when it has none."""
    first = next((out / "items").rglob("*.npz"), None)
    if first is None:
        return None
    try:
        return int(read_fields(first, ("lips_faces",))["lips_faces"].shape[1])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # a broken item is redone; it says nothing
        return None


def check_folder_faces(out: Path, face_size: int) -> None:
    """Refuse to add face crops of another side (px) to a features folder than its items hold."""
    held = folder_face_size(out)
    if held is not None and held != face_size:
        raise Lip2SpeechError(f"this features folder holds {held} px face crops, not {face_size}: use another --out "
                              f"or --face-size {held}", out)


def _track_path(lips_dir: str | Path | None, corpus: str | Path, video: str | Path) -> str | None:
    """The `lip2speech lips` file of a corpus video in lips_dir (same path below the folder), if there is one."""
    if lips_dir is None:
        return None
    video = Path(video).absolute()
    root = Path(corpus).absolute()
    rel = video.relative_to(root) if video.is_relative_to(root) else Path(video.name)
    path = Path(lips_dir) / rel.with_suffix(".npz")
    return str(path) if path.is_file() else None


def lips_from_track(track: Any) -> dict[str, Any]:
    """A LipTrack as the lips mapping the data pipeline reads (same fields as a prepared item)."""
    d = {k: np.asarray(getattr(track, k)) for k in LIP_FIELDS}
    d["valid"] = d["valid"].astype(bool)
    d["fps"] = float(track.fps)
    return d


def synthetic_features(out: str | Path, speakers: int = 4, utterances: int = 60, seed: int = 0,
                       frames: int = 75, gp_shape: tuple[int, int] = (40, 80), face: int = 64) -> list[str]:
    """Write a features folder of generated utterances whose spectrogram is driven by the visible mouth
    (opening and spread), for tests and benchmarks that need no video pipeline; returns the keys."""
    rng = np.random.default_rng(seed)
    fps, n_aud = 25.0, int(round(frames / 25.0 / SPEC_FRAME_S))
    f = np.linspace(0, 1, BINS)
    yy, xx = np.mgrid[0:gp_shape[0], 0:gp_shape[1]]
    fy, fx = np.mgrid[0:face, 0:face]
    entries = []
    for s in range(1, speakers + 1):
        base = 0.5 + 0.5 * rng.random()  # speaker-specific lip size and voice
        formant = 0.25 + 0.1 * rng.random()
        for u in range(utterances):
            t_v = np.arange(frames) / fps
            knots = rng.random((frames // 5 + 2, 2))  # one articulation target per 200 ms
            open_, spread = (np.stack([np.interp(t_v, np.arange(len(knots)) * 0.2, knots[:, j]) for j in range(2)]))
            open_[: 5] = open_[-5:] = 0.0  # silence at both ends
            t_a = frame_times(n_aud)
            o_a, s_a = np.interp(t_a, t_v, open_), np.interp(t_a, t_v, spread)
            centre = formant + 0.4 * s_a[:, None]
            aud = o_a[:, None] * np.exp(-((f[None] - centre) ** 2) / 0.005) * (1 + 0.5 * f[None])
            aud += 0.3 * o_a[:, None] * np.exp(-((f[None] - 0.1) ** 2) / 0.01)
            aud = (aud + 0.02 * rng.random(aud.shape)).astype(np.float32)
            h = base * (2 + 12 * open_) + 0.3 * rng.standard_normal(frames)
            w = base * (20 + 15 * spread) + 0.3 * rng.standard_normal(frames)
            gf = np.stack([w, h, np.pi * w * h / 4, 40 + 0 * w, 20 + 0 * w, 0.5 + 0.1 * open_, 0 * w], 1)
            ell = ((xx[None] - 40) / (w[:, None, None] / 2)) ** 2 + ((yy[None] - 20) / (h[:, None, None] / 2 + 0.5)) ** 2
            gp = (ell <= 1).astype(np.float32) * base
            ellf = ((fx[None] - face / 2) / (w[:, None, None] / 3)) ** 2 \
                + ((fy[None] - 0.7 * face) / (h[:, None, None] / 3 + 0.5)) ** 2
            faces = np.where(ellf <= 1, 40, 160 + 40 * base).astype(np.uint8)
            lips = {"gf": gf.astype(np.float32), "gp": gp, "faces": faces, "valid": np.ones(frames, bool),
                    "landmarks": np.zeros((frames, 68, 2), np.float32), "mouth_boxes": np.zeros((frames, 4), np.float32),
                    "fps": fps}
            entries.append(write_item(out, f"s{s}/u{u:03d}", aud, lips, f"s{s}"))
    FeatureStore.create(out).write_manifest(entries)
    return [e["key"] for e in entries]
