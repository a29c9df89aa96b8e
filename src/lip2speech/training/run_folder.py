"""The run folder: what it holds, when it may be reused, and its checkpoint's reader (shared by train,
inference and evaluate).

A run folder holds config.yaml (the resolved TrainConfig + features folder + autoencoder run), split.json,
model.ckpt (best validation loss; self-contained: model name, constructor arguments, normalisation statistics,
windowing, the autoencoder's weights), last.ckpt (resume point), metrics.csv, tb/ (TensorBoard) and
summary.json (written when training finished: then the run is reused as it is). A folder is resumed only by the
same configuration (RUNTIME_KEYS aside) on the same features and split.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from ..config import to_dict
from ..errors import Lip2SpeechError
from .train_config import RUNTIME_KEYS, TrainConfig


def config_hash(obj: Any) -> str:
    """A short, stable hash of a JSON-able object (names the autoencoder run a configuration trains)."""
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]


def autoencoder_dir(cfg: TrainConfig, features_dir: Path, out_dir: Path) -> Path:
    """The autoencoder run of a published system's run: the configured one, else autoencoder-<hash> beside it,
    shared by every system trained on the same features, speakers and split."""
    if cfg.autoencoder.run:
        return Path(cfg.autoencoder.run)
    tag = config_hash({"features": str(features_dir.resolve()), "speakers": cfg.speakers,
                 "test_speakers": cfg.test_speakers, "split": [cfg.test_fraction, cfg.val_fraction, cfg.seed],
                 "ae": to_dict(cfg.autoencoder), "lr": [cfg.lr_factor, cfg.lr_patience],
                 "legacy": cfg.legacy_decompress,
                 # only when not the default, so that the autoencoder runs of earlier versions are reused
                 **({"split_protocol": cfg.split_protocol} if cfg.split_protocol != "ours" else {})})
    return out_dir.parent / f"autoencoder-{tag}"


def resolved_config(cfg: TrainConfig, features_dir: Path, ae_dir: Path | None) -> dict[str, Any]:
    """What config.yaml holds: the whole TrainConfig, the features folder and the autoencoder run it uses."""
    d = to_dict(cfg)
    if ae_dir is not None:
        d["autoencoder"]["run"] = str(ae_dir)
    d["features"] = str(features_dir.resolve())
    return d


def check_run_folder(out_dir: Path, resolved: dict[str, Any]) -> None:
    """Refuse to resume a run folder that was made with another configuration or features folder."""
    path = out_dir / "config.yaml"
    if not path.is_file():
        return
    old = yaml.safe_load(path.read_text()) or {}
    old.setdefault("task", "sentence")  # run folders made before the task existed
    old.setdefault("split_protocol", "ours")  # ... or before the split protocol and the GF input existed
    old.setdefault("gf_input", "frames")
    resolved = dict(resolved)
    for key, value in to_dict(TrainConfig()).items():  # a setting missing on either side (added since): its default
        old.setdefault(key, value)
        resolved.setdefault(key, value)
    ignore = set(RUNTIME_KEYS)
    if resolved.get("system") != "gf2s":  # only GF2S reads the GF input
        ignore.add("gf_input")
    diff = sorted(k for k in set(old) | set(resolved) if k not in ignore and old.get(k) != resolved.get(k))
    if diff:
        raise Lip2SpeechError(
            f"run folder was trained with another configuration (differs in: {', '.join(diff)}); "
            "use a new --out or the same settings", out_dir)


def is_finished(out_dir: Path) -> bool:
    """True when the run finished training (summary.json and model.ckpt): it is reused as it is."""
    return (out_dir / "summary.json").is_file() and (out_dir / "model.ckpt").is_file()


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A lip2speech checkpoint (model.ckpt) as a dict; Lip2SpeechError if missing, corrupt or not ours."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("checkpoint not found (is this a finished run folder?)", path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile, Exception) as exc:  # noqa: BLE001
        raise Lip2SpeechError(f"corrupt or unreadable checkpoint ({type(exc).__name__})", path) from None
    if not isinstance(ckpt, dict) or "lip2speech" not in ckpt or "state_dict" not in ckpt:
        raise Lip2SpeechError("not a lip2speech checkpoint (no lip2speech metadata)", path)
    return ckpt


SPLIT_FILE = "split.json"  # {"train": [keys], "val": [keys], "test": [keys]}
SPLIT_NAMES = ("train", "val", "test")


def _split_lists(split: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """`split` as split.json holds it: a key list for each of train, val and test (empty where missing)."""
    return {k: list(split.get(k, [])) for k in SPLIT_NAMES}


def read_split(path: str | Path) -> dict[str, list[str]]:
    """The split of a run folder (or of a split.json file): {"train", "val", "test": utterance keys}."""
    path = Path(path)
    if path.is_dir():
        path = path / SPLIT_FILE
    if not path.is_file():
        raise Lip2SpeechError(f"no {SPLIT_FILE}", path)
    try:
        split = json.loads(path.read_text())
    except ValueError as e:
        raise Lip2SpeechError(f"unreadable {SPLIT_FILE} ({e})", path) from None
    if not isinstance(split, dict) or not all(isinstance(split.get(k, []), list) for k in SPLIT_NAMES):
        raise Lip2SpeechError(f"not a {SPLIT_FILE} (train/val/test key lists)", path)
    return _split_lists(split)


def write_split(out_dir: Path, split: Mapping[str, Sequence[str]]) -> None:
    """Write a run folder's split.json (atomically): the utterance keys of train, val and test."""
    from ..fileio import write_json

    write_json(Path(out_dir) / SPLIT_FILE, _split_lists(split))


def check_split(out_dir: Path, split: dict[str, list[str]]) -> None:
    """Refuse to resume a run folder whose split.json differs from the split of these features."""
    old = out_dir / SPLIT_FILE
    if old.is_file() and read_split(old) != _split_lists(split):
        raise Lip2SpeechError("split.json differs from the split of these features; use a new --out", out_dir)


def resume_point(out_dir: Path, system: str, state: Mapping[str, Any] | None = None) -> tuple[str | None, int]:
    """(last.ckpt to resume from or None, the epoch it resumes at); a corrupt checkpoint, one of another system,
    or (given the module's `state` dict) one whose weights have other names or shapes is a one-line error."""
    import torch

    last = out_dir / "last.ckpt"
    if not last.is_file():
        return None, 0
    try:
        # memory-mapped: only the metadata is read here; Lightning reads the weights once, when it resumes
        saved = torch.load(last, map_location="cpu", weights_only=False, mmap=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a corrupt checkpoint
        raise Lip2SpeechError(f"corrupt checkpoint ({type(exc).__name__}); delete it to restart", last) from None
    if saved.get("lip2speech", {}).get("system") != system:
        raise Lip2SpeechError(f"checkpoint is not a {system} checkpoint; use a new --out", last)
    if state is not None:
        mismatch = weights_mismatch(saved.get("state_dict", {}), state)
        if mismatch:
            raise Lip2SpeechError(f"checkpoint does not match the configured model ({mismatch}); use a new --out",
                                  last)
    return str(last), int(saved.get("epoch", -1)) + 1


def weights_mismatch(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    """'' when two state dicts have the same parameter names and shapes, else the first difference."""
    for name in sorted(set(saved) | set(wanted)):
        if name not in saved or name not in wanted:
            return f"{name} only in the {'model' if name in wanted else 'checkpoint'}"
        if tuple(saved[name].shape) != tuple(wanted[name].shape):
            return f"{name}: {tuple(saved[name].shape)} in the checkpoint, {tuple(wanted[name].shape)} configured"
    return ""
