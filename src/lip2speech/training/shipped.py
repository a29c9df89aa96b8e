"""Trained models shipped inside the package (weights/<name>/: model.ckpt in float16, card.md, split.json),
accepted by name wherever a run folder is; `export_model` writes one from a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import Lip2SpeechError
from ..fileio import atomic_path, write_json, write_text
from ..models.systems import UTTERANCE_SYSTEMS

WEIGHTS_DIR = Path(__file__).parents[1] / "weights"  # the package's weights/ folder


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


def shown_path(path: str | Path, placeholder: str) -> str:
    """How a model card names a path in the command that made it: as given when relative (../shared beside a
    clone), else `placeholder`: a folder of the machine that made the model means nothing on another."""
    return placeholder if Path(path).is_absolute() else str(path)


def export_model(run_dirs: str | Path | Sequence[str | Path], out_dir: str | Path, card_text: str,
                 extra: dict[str, Any] | None = None, framing: dict[str, Any] | None = None) -> Path:
    """Write a shippable copy of one finished run, or of several runs of one whole-utterance recipe as one model
    that averages them: weights in float16 (what rebuilds the model kept), the split, the card, card.json
    (`extra`: scores, command, commit) and the framing file: `framing` ({"mouth_width": px, notes...}) when given,
    else the mouth width the first run's lips were made at, else none (an older one in out_dir is removed);
    returns out_dir/model.ckpt."""
    from .run_folder import SPLIT_FILE, load_checkpoint, read_split, write_split

    runs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(r) for r in run_dirs]
    ckpts = [load_checkpoint(r / "model.ckpt") for r in runs]
    meta = dict(ckpts[0]["lip2speech"])
    splits = [read_split(r) if (r / SPLIT_FILE).is_file() else None for r in runs]
    if len(runs) > 1:
        if meta["system"] not in UTTERANCE_SYSTEMS:
            raise Lip2SpeechError(f"only whole-utterance systems ({', '.join(UTTERANCE_SYSTEMS)}) can be averaged, "
                                  f"this run is {meta['system']}", runs[0])
        for run, ck, split in zip(runs[1:], ckpts[1:], splits[1:]):
            other = ck["lip2speech"]
            for key in ("system", "feature_config", "model_kwargs", "stats"):
                if other.get(key) != meta.get(key):
                    raise Lip2SpeechError(f"cannot average with {runs[0]}: another {key}", run)
            if (split or {}).get("test") != (splits[0] or {}).get("test"):
                raise Lip2SpeechError(f"cannot average with {runs[0]}: another test split", run)
        meta["members"] = len(runs)
        meta["params"] = sum(int(ck["lip2speech"].get("params", 0)) for ck in ckpts)

    def half(v: torch.Tensor) -> torch.Tensor:
        return v.half() if v.is_floating_point() else v

    if len(runs) == 1:
        state = {k: half(v) for k, v in ckpts[0]["state_dict"].items() if not k.startswith("critic.")}
    else:  # the members' nets only (what the ensemble rebuilds), under net.members.<i>.
        state = {f"net.members.{i}.{k[len('net.'):]}": half(v) for i, ck in enumerate(ckpts)
                 for k, v in ck["state_dict"].items() if k.startswith("net.")}
    from ..lips.framing import FRAMING_FILE, model_mouth_width, write_mouth_width

    if framing is None:  # the scale its lips were made at travels with it
        framing = {"mouth_width": model_mouth_width(runs[0], meta.get("config", {}))}
    framing = dict(framing)
    width = framing.pop("mouth_width", None)
    meta["config"] = {k: v for k, v in meta.get("config", {}).items() if k != "features"}
    if meta.get("init_from"):  # the weights it started from: a shipped name, or a run folder's name alone
        meta["init_from"] = shown_path(meta["init_from"], Path(meta["init_from"]).name)
        if meta["config"].get("init_from"):
            meta["config"]["init_from"] = meta["init_from"]
    out_dir = Path(out_dir)
    out = out_dir / "model.ckpt"
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        torch.save({"lip2speech": meta, "state_dict": state}, tmp)
    if splits[0] is not None:
        write_split(out_dir, splits[0])
    write_text(out_dir / "card.md", card_text)
    if width is not None:
        write_mouth_width(out_dir, width, **framing)
    else:  # video px: a framing file left by an earlier export would tell speak another scale
        (out_dir / FRAMING_FILE).unlink(missing_ok=True)
    write_json(out_dir / "card.json", {"system": meta["system"], "fs": meta["feature_config"]["fs"],
                                        "members": len(runs), **(extra or {})})
    return out
