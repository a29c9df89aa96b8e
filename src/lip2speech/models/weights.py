"""Nets rebuilt from a checkpoint's state dict: one model by name, or the ensemble of a shipped model's members."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import Lip2SpeechError
from . import build_model


def load_net(name: str, kwargs: dict, state: dict, prefix: str, path: Path) -> torch.nn.Module:
    """Model `name` built with `kwargs`, holding the weights under `prefix` of a checkpoint's state dict."""
    net = build_model(name, **kwargs)
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        net.load_state_dict(sub)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise Lip2SpeechError(f"checkpoint weights do not match the {name} model ({first})", path) from None
    return net.eval()


def load_utterance_net(name: str, meta: dict, state: dict, path: Path) -> torch.nn.Module:
    """The whole-utterance model of a checkpoint: one net, or the ensemble of meta["members"] nets."""
    members = int(meta.get("members", 1))
    if members == 1:
        return load_net(name, meta["model_kwargs"], state, "net.", path)
    from .ensemble import UtteranceEnsemble

    return UtteranceEnsemble([load_net(name, meta["model_kwargs"], state, f"net.members.{i}.", path)
                              for i in range(members)]).eval()
