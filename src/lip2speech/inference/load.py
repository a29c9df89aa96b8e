"""Load a trained run, or a shipped model by name, as the Reconstructor its checkpoint's system needs."""

from __future__ import annotations

from pathlib import Path

from ..models import UTTERANCE_SYSTEMS
from ..training.run_folder import load_checkpoint
from ..training.shipped import resolve_run
from .reconstructor import Reconstructor
from .whole_utterance import UtteranceReconstructor
from .windowed import AutoencoderRun, WindowReconstructor


def reconstructor_class(system: str) -> type[Reconstructor]:
    """The one place that picks a path by system: the whole-utterance systems, the autoencoder, the windowed."""
    if system in UTTERANCE_SYSTEMS:
        return UtteranceReconstructor
    if system == "autoencoder":
        return AutoencoderRun
    return WindowReconstructor


def open_run(run_dir: str | Path) -> Reconstructor:
    """The trained model of a run folder (its model.ckpt)."""
    run_dir = Path(run_dir)
    ckpt = load_checkpoint(run_dir / "model.ckpt")
    return reconstructor_class(ckpt["lip2speech"]["system"])(run_dir, ckpt)


def load_run(run_dir: str | Path) -> Reconstructor:
    """The trained model of a run folder (model.ckpt) or of a shipped model name (`grid-s1`), ready to predict."""
    return open_run(resolve_run(run_dir))
