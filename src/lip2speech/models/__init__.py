"""Model registry: the autoencoder, the three published lip-to-speech systems and gu2s, built by name with sizes."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import Lip2SpeechError
from .autoencoder import Autoencoder
from .gf2s import GF2S
from .gp2s import GP2S
from .gu2s import GU2S
from .lip2audspec import Lip2AudSpec
from .systems import PUBLISHED_SYSTEMS, SYSTEMS, UTTERANCE_SYSTEMS  # noqa: F401 (re-exported)

MODELS: dict[str, type[nn.Module]] = {
    "autoencoder": Autoencoder,
    "gf2s": GF2S,
    "gp2s": GP2S,
    "lip2audspec": Lip2AudSpec,
    "gu2s": GU2S,
}
# Which lip input each windowed system reads, and how many 5-frame slices one input window spans.
INPUT_KIND = {"gf2s": "gf", "gp2s": "gp", "lip2audspec": "faces", "gu2s": "utterance"}
WINDOW_SLICES = {"gf2s": 1, "gp2s": 1, "lip2audspec": 2}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Construct model `name` (autoencoder, gf2s, gp2s, lip2audspec) with constructor keyword arguments."""
    if name not in MODELS:
        raise Lip2SpeechError(f"unknown system {name!r} (choose from {', '.join(MODELS)})")
    try:
        return MODELS[name](**kwargs)
    except TypeError as exc:
        raise Lip2SpeechError(f"bad model arguments for {name}: {exc}") from None


def param_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["Autoencoder", "GF2S", "GP2S", "GU2S", "Lip2AudSpec", "MODELS", "SYSTEMS", "PUBLISHED_SYSTEMS",
           "UTTERANCE_SYSTEMS", "INPUT_KIND", "WINDOW_SLICES", "build_model", "param_count"]
