"""Prepare a corpus into cached per-utterance features (one .npz each) plus a manifest; load them back.

Layout of a features folder:
  features.json            feature configuration (version, audio rate, frame step, bins); checked on reuse
  items/<spk>/<uid>.npz    aud (N,128) float32, lips_* arrays (gf, gp, faces, valid, landmarks, mouth_boxes), fps,
                           words, word_times
  manifest/part-<i>-of-<n>.json  one part per shard: key -> {speaker, frames, aud_frames, path}
Finished items are skipped on a re-run, so an interrupted or sharded preparation simply resumes.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .errors import Lip2SpeechError
from .fileio import save_npz, write_json
from .timebase import BINS, SAMPLE_RATES, SPEC_FRAME_S, frame_times

FEATURE_VERSION = 1


def feature_config(fs: int = 8000) -> dict[str, Any]:
    """The feature configuration of a features folder prepared at audio rate `fs` (Hz)."""
    if fs not in SAMPLE_RATES:
        raise Lip2SpeechError(f"unsupported audio rate {fs} Hz (choose from {', '.join(map(str, SAMPLE_RATES))})")
    return {"version": FEATURE_VERSION, "fs": int(fs), "spec_frame_s": SPEC_FRAME_S, "bins": BINS}


FEATURE_CONFIG: dict[str, Any] = feature_config()  # the published setting (8 kHz)
LIP_FIELDS = ("gf", "gp", "faces", "valid", "landmarks", "mouth_boxes")


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


def item_path(features_dir: str | Path, key: str) -> Path:
    """Where the .npz of utterance `key` ('s1/bbaf2n') lives."""
    return Path(features_dir) / "items" / f"{key}.npz"


def check_features_config(features_dir: str | Path, expected: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The folder's feature configuration; Lip2SpeechError if missing, unsupported or different from `expected`
    (None: any supported audio rate)."""
    path = Path(features_dir) / "features.json"
    if not path.is_file():
        raise Lip2SpeechError("not a features folder (no features.json); run `lip2speech prepare` first",
                              features_dir)
    cfg = json.loads(path.read_text())
    if expected is None:
        fs = cfg.get("fs")
        expected = feature_config(fs) if fs in SAMPLE_RATES else FEATURE_CONFIG
    expected = dict(expected)
    diff = sorted(k for k in set(cfg) | set(expected) if cfg.get(k) != expected.get(k))
    if diff:
        raise Lip2SpeechError(
            "features were prepared with another configuration ("
            + ", ".join(f"{k}: {cfg.get(k)!r} here, {expected.get(k)!r} expected" for k in diff) + ")", path)
    return cfg


def _extract(args: tuple[Any, str, int, str | None]) -> dict[str, Any]:
    """Worker: features of one utterance written to its .npz; returns its manifest entry."""
    from .audio import auditory_spectrogram, load_audio
    from .lips import extract_lips, load_track_for

    utt, out, fs, track_path = args
    aud = auditory_spectrogram(load_audio(utt.audio_source, fs=fs), fs=fs).astype(np.float32)
    # a `lip2speech lips` track of the same video is reused (it must come from the default front end)
    track = load_track_for(track_path) if track_path is not None else extract_lips(utt.video)
    valid = np.asarray(track.valid, dtype=bool)
    if not valid.any():
        raise Lip2SpeechError("no face found in any frame", utt.video)
    lips = {f"lips_{k}": np.asarray(getattr(track, k)) for k in LIP_FIELDS}
    wt = utt.word_times or ()
    save_npz(item_path(out, utt.key), aud=aud, fps=np.float64(track.fps), speaker=np.str_(utt.speaker),
             words=np.array(list(utt.words), dtype=str),
             word_names=np.array([w for w, _, _ in wt], dtype=str),
             word_spans=np.array([[a, b] for _, a, b in wt], dtype=np.float64).reshape(-1, 2), **lips)
    return _entry(utt.key, utt.speaker, len(valid), len(aud))


def _entry(key: str, speaker: str, frames: int, aud_frames: int) -> dict[str, Any]:
    return {"key": key, "speaker": speaker, "frames": int(frames), "aud_frames": int(aud_frames),
            "path": f"items/{key}.npz"}


def _entry_from_file(key: str, path: Path) -> dict[str, Any] | None:
    """Manifest entry of an already written item, or None when the file is unreadable (then redo it)."""
    try:
        with np.load(path) as z:
            return _entry(key, str(z["speaker"]), len(z["lips_valid"]), len(z["aud"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


def prepare(corpus: str | Path, out: str | Path, speakers: Sequence[str] | None = None, jobs: int = 1,
            shard: str | tuple[int, int] | None = None, show_progress: bool = True,
            fs: int | None = None, lips_dir: str | Path | None = None) -> PrepareReport:
    """Extract spectrogram + lip track of every utterance of `corpus` (or of `speakers`) into `out`.

    fs: audio rate of the auditory spectrogram (Hz; 8000 as published, or 16000); None: the existing folder's
    rate, else 8000. lips_dir: a folder written by `lip2speech lips CORPUS --out lips_dir`; a video's track
    there (lips_dir/<path below corpus>.npz) is used instead of extracting the lips again."""
    from .corpus import scan_corpus
    from .parallel import run_jobs

    out = Path(out)
    i, n = shard if isinstance(shard, tuple) else parse_shard(shard)
    cfg_path = out / "features.json"
    if cfg_path.exists():
        fs = check_features_config(out, None if fs is None else feature_config(fs))["fs"]
    else:
        fs = 8000 if fs is None else fs
        write_json(cfg_path, feature_config(fs))
    scan = scan_corpus(corpus, speakers=list(speakers) if speakers else None)
    if not scan.utterances:
        raise Lip2SpeechError("no usable utterances found", corpus)
    mine = [u for j, u in enumerate(sorted(scan.utterances, key=lambda u: u.key)) if j % n == i - 1]
    report = PrepareReport(out=out, failures=[f"scan: {p}" for p in scan.problems])
    entries: dict[str, dict[str, Any]] = {}
    todo = []
    for u in mine:
        p = item_path(out, u.key)
        entry = _entry_from_file(u.key, p) if p.exists() else None
        if entry is not None:
            entries[u.key] = entry
            report.skipped.append(u.key)
        else:
            todo.append((u, str(out), fs, _track_path(lips_dir, corpus, u.video)))
    res = run_jobs(_extract, todo, jobs=jobs, desc="prepare", show_progress=show_progress)
    with_track = {u.key for u, _, _, track in todo if track is not None}
    for e in res.results:
        entries[e["key"]] = e
        report.written.append(e["key"])
        if e["key"] in with_track:
            report.reused_tracks.append(e["key"])
    report.failures += res.failures
    write_json(out / "manifest" / f"part-{i}-of-{n}.json", {"items": [entries[k] for k in sorted(entries)]})
    return report


def _track_path(lips_dir: str | Path | None, corpus: str | Path, video: str | Path) -> str | None:
    """The `lip2speech lips` file of a corpus video in lips_dir (same path below the folder), if there is one."""
    if lips_dir is None:
        return None
    video = Path(video).absolute()
    root = Path(corpus).absolute()
    rel = video.relative_to(root) if video.is_relative_to(root) else Path(video.name)
    path = Path(lips_dir) / rel.with_suffix(".npz")
    return str(path) if path.is_file() else None


def load_manifest(features_dir: str | Path) -> dict[str, dict[str, Any]]:
    """key -> {speaker, frames, aud_frames, path} merged over all manifest parts (shards)."""
    features_dir = Path(features_dir)
    check_features_config(features_dir)
    parts = sorted((features_dir / "manifest").glob("part-*.json"))
    if not parts:
        raise Lip2SpeechError("features folder has no manifest (preparation never finished a shard)", features_dir)
    items: dict[str, dict[str, Any]] = {}
    for p in parts:
        for e in json.loads(p.read_text())["items"]:
            items[e["key"]] = e
    return dict(sorted(items.items()))


class Item(Mapping[str, Any]):
    """One prepared utterance: aud (N,128), lips (gf, gp, faces, valid, landmarks, mouth_boxes, fps: read lazily),
    words, word_times ((word, start_s, end_s) or None), speaker, key."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        try:
            with np.load(path) as z:
                self._d: dict[str, Any] = {
                    "aud": z["aud"], "speaker": str(z["speaker"]), "key": key,
                    "words": tuple(str(w) for w in z["words"]),
                    "word_times": tuple((str(w), float(a), float(b)) for w, (a, b) in
                                        zip(z["word_names"], z["word_spans"])) or None,
                }
                fps = float(z["fps"])
                valid = z["lips_valid"].astype(bool)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise Lip2SpeechError(f"unreadable features item ({type(exc).__name__}); re-run prepare", path) from None
        self._d["lips"] = _LazyLips(path, fps, valid)

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


class _LazyLips(Mapping[str, Any]):
    """Lip arrays of an item, each read from the .npz only when asked for (gp/faces are large)."""

    def __init__(self, path: Path, fps: float, valid: np.ndarray) -> None:
        self.path, self._d = path, {"fps": fps, "valid": valid}

    def __getitem__(self, k: str) -> Any:
        if k not in self._d:
            if k not in LIP_FIELDS:
                raise KeyError(k)
            with np.load(self.path) as z:
                self._d[k] = z[f"lips_{k}"]
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(("fps",) + LIP_FIELDS)

    def __len__(self) -> int:
        return len(LIP_FIELDS) + 1


def load_item(features_dir: str | Path, key: str) -> Item:
    """The prepared utterance `key` of `features_dir`."""
    path = item_path(features_dir, key)
    if not path.is_file():
        raise Lip2SpeechError(f"no prepared item for {key}", path)
    return Item(path, key)


def lips_from_track(track: Any) -> dict[str, Any]:
    """A LipTrack as the lips mapping the data pipeline reads (same fields as a prepared item)."""
    d = {k: np.asarray(getattr(track, k)) for k in LIP_FIELDS}
    d["valid"] = d["valid"].astype(bool)
    d["fps"] = float(track.fps)
    return d


def write_synthetic_item(features_dir: str | Path, key: str, aud: np.ndarray, lips: Mapping[str, Any],
                         words: Sequence[str] = (), word_times: Sequence[tuple[str, float, float]] = ()) -> dict:
    """Write one item from arrays (tests, benchmarks); returns its manifest entry."""
    speaker = key.split("/")[0]
    arrays = {f"lips_{k}": np.asarray(lips[k]) for k in LIP_FIELDS}
    save_npz(item_path(features_dir, key), aud=np.asarray(aud, np.float32), fps=np.float64(lips["fps"]),
             speaker=np.str_(speaker), words=np.array(list(words), dtype=str),
             word_names=np.array([w for w, _, _ in word_times], dtype=str),
             word_spans=np.array([[a, b] for _, a, b in word_times], dtype=np.float64).reshape(-1, 2), **arrays)
    return _entry(key, speaker, len(lips["valid"]), len(aud))


def write_manifest(features_dir: str | Path, entries: Sequence[Mapping[str, Any]], fs: int = 8000) -> None:
    """Write features.json (audio rate fs, Hz) and a single manifest part for `entries` (tests, benchmarks)."""
    write_json(Path(features_dir) / "features.json", feature_config(fs))
    write_json(Path(features_dir) / "manifest" / "part-1-of-1.json", {"items": list(entries)})


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
            entries.append(write_synthetic_item(out, f"s{s}/u{u:03d}", aud, lips))
    write_manifest(out, entries)
    return [e["key"] for e in entries]
