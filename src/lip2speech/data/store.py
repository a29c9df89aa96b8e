"""The features folder on disk, its only reader and writer: FeatureStore.

Layout:
  features.json            feature configuration (version, audio rate, frame step, bins); checked on opening
  items/<spk>/<uid>.npz    one prepared utterance: aud (N,128) float32, lips_* arrays (gf, gp, faces, valid,
                           landmarks, mouth_boxes), fps, speaker, words, word_names + word_spans (alignment)
  manifest/part-<i>-of-<n>.json  one part per shard: key -> {speaker, frames, aud_frames, path}

A "prepared utterance" (an item) is read with only the fields asked for, in one opening of its file.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import save_npz, write_json
from ..timebase import BINS, DEFAULT_FS, SAMPLE_RATES, SPEC_FRAME_S

FEATURE_VERSION = 1
LIP_FIELDS = ("gf", "gp", "faces", "valid", "landmarks", "mouth_boxes")
_READ_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError)


def feature_config(fs: int = DEFAULT_FS) -> dict[str, Any]:
    """The feature configuration of a features folder prepared at audio rate `fs` (Hz)."""
    if fs not in SAMPLE_RATES:
        raise Lip2SpeechError(f"unsupported audio rate {fs} Hz (choose from {', '.join(map(str, SAMPLE_RATES))})")
    return {"version": FEATURE_VERSION, "fs": int(fs), "spec_frame_s": SPEC_FRAME_S, "bins": BINS}


FEATURE_CONFIG: dict[str, Any] = feature_config()  # the published setting (8 kHz)


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


def manifest_entry(key: str, speaker: str, frames: int, aud_frames: int) -> dict[str, Any]:
    """The manifest entry of one item: key, speaker, video frames, spectrogram frames, path."""
    return {"key": key, "speaker": speaker, "frames": int(frames), "aud_frames": int(aud_frames),
            "path": f"items/{key}.npz"}


def read_fields(path: Path, fields: Sequence[str]) -> dict[str, np.ndarray]:
    """The named arrays of one item file, in one opening; an unreadable file is a one-line error."""
    try:
        with np.load(path) as z:
            return {f: z[f] for f in fields}
    except _READ_ERRORS as exc:
        raise Lip2SpeechError(f"unreadable features item ({type(exc).__name__}); re-run prepare", path) from None


class Item(Mapping[str, Any]):
    """One prepared utterance: aud (N,128), lips (gf, gp, faces, valid, landmarks, mouth_boxes, fps: the large
    arrays read when first asked for, all in one opening), words, word_times ((word, start_s, end_s) or None),
    speaker, key. The spectrogram is read only when asked for too (lips-only readers skip it)."""

    _HEAD = ("speaker", "words", "word_names", "word_spans", "fps", "lips_valid")

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        z = read_fields(path, self._HEAD)
        self._d: dict[str, Any] = {
            "speaker": str(z["speaker"]), "key": key, "words": tuple(str(w) for w in z["words"]),
            "word_times": tuple((str(w), float(a), float(b)) for w, (a, b) in
                                zip(z["word_names"], z["word_spans"])) or None,
            "lips": _LazyLips(path, float(z["fps"]), z["lips_valid"].astype(bool)),
        }

    def __getitem__(self, k: str) -> Any:
        if k == "aud" and k not in self._d:
            self._d["aud"] = read_fields(self.path, ("aud",))["aud"]
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(("aud", *self._d))

    def __len__(self) -> int:
        return len(self._d) + ("aud" not in self._d)


class _LazyLips(Mapping[str, Any]):
    """Lip arrays of an item: fps and valid at once, the other arrays (gp/faces are large) read together on the
    first request for any of them."""

    def __init__(self, path: Path, fps: float, valid: np.ndarray) -> None:
        self.path, self._d = path, {"fps": fps, "valid": valid}

    def __getitem__(self, k: str) -> Any:
        if k not in self._d:
            if k not in LIP_FIELDS:
                raise KeyError(k)
            rest = [f for f in LIP_FIELDS if f not in self._d]
            self._d.update({f[len("lips_"):]: v for f, v in read_fields(self.path, [f"lips_{f}" for f in rest]).items()})
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(("fps",) + LIP_FIELDS)

    def __len__(self) -> int:
        return len(LIP_FIELDS) + 1


class FeatureStore:
    """A features folder opened once: its configuration (checked against `expected` when given) and manifest;
    lists keys by speaker; reads and writes its items. Every other module goes through it."""

    def __init__(self, path: str | Path, expected: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.config = check_features_config(self.path, expected)
        self._manifest: dict[str, dict[str, Any]] | None = None

    @property
    def fs(self) -> int:
        """Audio rate (Hz) of the folder's spectrograms."""
        return int(self.config["fs"])

    @property
    def manifest(self) -> dict[str, dict[str, Any]]:
        """key -> {speaker, frames, aud_frames, path}, merged over all manifest parts (shards), of the items whose
        file is there; read once."""
        if self._manifest is None:
            parts = sorted((self.path / "manifest").glob("part-*.json"))
            if not parts:
                raise Lip2SpeechError("features folder has no manifest (preparation never finished a shard)",
                                      self.path)
            items: dict[str, dict[str, Any]] = {}
            for p in parts:
                for e in json.loads(p.read_text())["items"]:
                    items[e["key"]] = e
            # an item removed since a part was written (a clip that then failed, under other shards) is not listed
            items = {k: e for k, e in items.items() if (self.path / e["path"]).is_file()}
            self._manifest = dict(sorted(items.items()))
        return self._manifest

    def keys(self, speakers: Sequence[str] = ()) -> list[str]:
        """Keys of the folder's items, of `speakers` only when given; a speaker the folder lacks is a one-line
        error naming the ones it has."""
        have = {e["speaker"] for e in self.manifest.values()}
        missing = [s for s in speakers if s not in have]
        if missing:
            raise Lip2SpeechError(f"speakers not in the features folder: {', '.join(missing)} "
                                  f"(have {', '.join(sorted(have)) or 'none'})", self.path)
        return [k for k, e in self.manifest.items() if not speakers or e["speaker"] in speakers]

    def item(self, key: str) -> Item:
        """The prepared utterance `key`."""
        return load_item(self.path, key)

    def write_item(self, key: str, aud: np.ndarray, lips: Mapping[str, Any], speaker: str,
                   words: Sequence[str] = (), word_times: Sequence[tuple[str, float, float]] = ()) -> dict[str, Any]:
        """Write one prepared utterance (atomically); returns its manifest entry."""
        return write_item(self.path, key, aud, lips, speaker, words, word_times)

    def manifest_part(self, part: tuple[int, int] = (1, 1)) -> list[dict[str, Any]]:
        """The entries of manifest part i of n ([] when that part was never written)."""
        path = self.path / "manifest" / f"part-{part[0]}-of-{part[1]}.json"
        return list(json.loads(path.read_text())["items"]) if path.is_file() else []

    def write_manifest(self, entries: Sequence[Mapping[str, Any]], part: tuple[int, int] = (1, 1)) -> None:
        """Write manifest part i of n (a shard's items)."""
        write_json(self.path / "manifest" / f"part-{part[0]}-of-{part[1]}.json", {"items": list(entries)})
        self._manifest = None

    @classmethod
    def create(cls, path: str | Path, fs: int = DEFAULT_FS) -> "FeatureStore":
        """A new (or the existing, if of the same configuration) features folder at audio rate fs (Hz)."""
        path = Path(path)
        if not (path / "features.json").exists():
            write_json(path / "features.json", feature_config(fs))
        return cls(path, feature_config(fs))


def load_item(features_dir: str | Path, key: str) -> Item:
    """The prepared utterance `key` of `features_dir` (a picklable loader for DataLoader workers)."""
    path = item_path(features_dir, key)
    if not path.is_file():
        raise Lip2SpeechError(f"no prepared item for {key}", path)
    return Item(path, key)


def write_item(features_dir: str | Path, key: str, aud: np.ndarray, lips: Mapping[str, Any], speaker: str,
               words: Sequence[str] = (), word_times: Sequence[tuple[str, float, float]] = ()) -> dict[str, Any]:
    """Write one prepared utterance to features_dir/items/<key>.npz (atomically): the only item writer."""
    arrays = {f"lips_{k}": np.asarray(lips[k]) for k in LIP_FIELDS}
    save_npz(item_path(features_dir, key), aud=np.asarray(aud, np.float32), fps=np.float64(lips["fps"]),
             speaker=np.str_(speaker), words=np.array(list(words), dtype=str),
             word_names=np.array([w for w, _, _ in word_times], dtype=str),
             word_spans=np.array([[a, b] for _, a, b in word_times], dtype=np.float64).reshape(-1, 2), **arrays)
    return manifest_entry(key, speaker, len(lips["valid"]), len(aud))


def _stored_shape(zf: zipfile.ZipFile, name: str) -> tuple[int, ...]:
    """Shape of array `name` of an open .npz from its header alone (the array itself is not decompressed)."""
    fmt = np.lib.format
    with zf.open(f"{name}.npy") as f:
        read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(fmt.read_magic(f))
        if read is not None:  # (numpy writes 1.0 headers for these arrays)
            return tuple(read(f)[0])
    with zf.open(f"{name}.npy") as f:  # another header version: read the array itself
        return fmt.read_array(f).shape


def entry_from_file(key: str, path: Path) -> dict[str, Any] | None:
    """Manifest entry of an already written item, or None when the file is unreadable (then redo it). Reads
    the speaker and the array headers only, in one opening, so a resumed `prepare` does not decompress every
    spectrogram."""
    try:
        with zipfile.ZipFile(path) as zf:
            with zf.open("speaker.npy") as f:
                speaker = str(np.lib.format.read_array(f))
            frames, aud_frames = _stored_shape(zf, "lips_valid")[0], _stored_shape(zf, "aud")[0]
    except _READ_ERRORS:
        return None
    return manifest_entry(key, speaker, frames, aud_frames)


def load_manifest(features_dir: str | Path) -> dict[str, dict[str, Any]]:
    """key -> {speaker, frames, aud_frames, path} of a features folder (FeatureStore(features_dir).manifest)."""
    return FeatureStore(features_dir).manifest
