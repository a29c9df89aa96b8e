"""Inference: a trained run or shipped model -> spectrogram -> speech.

load.py picks the Reconstructor a checkpoint's system needs (`load_run`); reconstructor.py is what every run
offers; windowed.py holds the published systems and their autoencoder, whole_utterance.py gu2s; speak.py turns
videos into WAV/MP4 with speak_inversion.py's inversion defaults.

The names below are imported on first use: the CLI reads speak_inversion for its help without loading torch."""

from importlib import import_module
from typing import Any

_EXPORTS = {"load_run": "load", "Reconstructor": "reconstructor", "AutoencoderRun": "windowed",
            "WindowReconstructor": "windowed", "WordPrediction": "windowed",
            "UtteranceReconstructor": "whole_utterance"}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
