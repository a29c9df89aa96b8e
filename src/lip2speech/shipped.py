"""Trained models shipped inside the package (weights/<name>/: model.ckpt in float16, card.md, split.json),
accepted by name wherever a run folder is; `export_model` writes one from a finished run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .errors import Lip2SpeechError
from .fileio import atomic_path, write_json, write_text

WEIGHTS_DIR = Path(__file__).parent / "weights"


def shipped_models() -> dict[str, Path]:
    """Name -> folder of every shipped model."""
    if not WEIGHTS_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(WEIGHTS_DIR.iterdir()) if (p / "model.ckpt").is_file()}


def resolve_run(run: str | Path) -> Path:
    """A run folder as given, or the folder of the shipped model of that name; one-line error otherwise."""
    path = Path(run)
    if path.is_dir():
        return path
    models = shipped_models()
    if str(run) in models:
        return models[str(run)]
    raise Lip2SpeechError(f"run folder not found, nor a shipped model of that name "
                          f"(shipped: {', '.join(models) or 'none'}; see `lip2speech models`)", run)


def is_shipped(run: str | Path) -> bool:
    """Whether `run` names a shipped model (and not a folder of that name)."""
    return not Path(run).is_dir() and str(run) in shipped_models()


def card(name: str) -> str:
    """The model card (Markdown) of a shipped model."""
    folder = resolve_run(name)
    path = folder / "card.md"
    return path.read_text() if path.is_file() else f"# {name}\n(no model card)\n"


def export_model(run_dir: str | Path, out_dir: str | Path, card_text: str, extra: dict[str, Any] | None = None) -> Path:
    """Write a shippable copy of a finished run: weights in float16 (what rebuilds the model kept), its split,
    the card and card.json (`extra`: scores, command, commit); returns out_dir/model.ckpt."""
    from .inference import load_checkpoint

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    ckpt = load_checkpoint(run_dir / "model.ckpt")
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()}
    meta = dict(ckpt["lip2speech"])
    meta["config"] = {k: v for k, v in meta.get("config", {}).items() if k != "features"}
    out = out_dir / "model.ckpt"
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        torch.save({"lip2speech": meta, "state_dict": state}, tmp)
    split = run_dir / "split.json"
    if split.is_file():
        write_json(out_dir / "split.json", json.loads(split.read_text()))
    write_text(out_dir / "card.md", card_text)
    write_json(out_dir / "card.json", {"system": meta["system"], "fs": meta["feature_config"]["fs"],
                                        **(extra or {})})
    return out
