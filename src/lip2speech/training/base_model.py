"""The trained model a fine-tuning starts from (`init_from`, `lip2speech adapt`): its checkpoint, its net in
float32 and its per-speaker lip statistics merged with the new speakers'."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import Lip2SpeechError


def base_checkpoint(base: str | Path) -> tuple[Path, dict[str, Any]]:
    """(the base model's folder, its checkpoint) for a run folder or a shipped name; only whole-utterance models."""
    from .run_folder import load_checkpoint
    from .shipped import resolve_run
    from ..models.systems import UTTERANCE_SYSTEMS

    folder = resolve_run(base)
    ckpt = load_checkpoint(folder / "model.ckpt")
    system = ckpt["lip2speech"].get("system")
    if system not in UTTERANCE_SYSTEMS:
        raise Lip2SpeechError(f"only a whole-utterance model ({', '.join(UTTERANCE_SYSTEMS)}) can be adapted, "
                              f"this one is {system}", folder)
    return folder, ckpt


def init_weights(source: str | Path, stats: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The base model of `source` to fine-tune: (its net, one gu2s or the ensemble of its members, in float32 and
    in training mode; its meta with the per-speaker stats merged with `stats` (kind -> NormStats; the new
    speakers' values win), the speakers it was trained on and its own speaker (an adapted model's, or None))."""
    from ..data import lip_inputs as LI
    from ..models.weights import load_utterance_net

    folder, ckpt = base_checkpoint(source)
    meta = ckpt["lip2speech"]
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()}
    net = load_utterance_net(meta["system"], meta, state, folder / "model.ckpt").float().train()
    merged = {}
    for kind, d in meta["stats"].items():
        base = LI.NormStats.from_dict(d)
        if kind in stats:
            base.per_speaker.update(stats[kind].per_speaker)
        merged[kind] = base
    return net, {"model_kwargs": dict(meta["model_kwargs"]), "members": int(meta.get("members", 1)),
                 "stats": merged, "feature_config": meta.get("feature_config"),
                 "speakers": sorted(meta["stats"].get("gp", {}).get("per_speaker", {})),
                 "speaker": meta.get("speaker")}
