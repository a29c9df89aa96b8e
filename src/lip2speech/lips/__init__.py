"""The lip front end: a video's landmarks, mouth boxes, Gabor pictures and features and face crops, as one
LipTrack (track.py; its .lips.npz file), from the pure Gabor functions of gabor.py.

The names below load on first use, so that `lips.crop_size` alone does not pull in OpenCV."""

from importlib import import_module
from typing import Any

_HOME = {"gabor_features": "gabor", "gabor_picture": "gabor", "mouth_box": "gabor", "LipTrack": "track",
         "extract_folder": "track", "extract_lips": "track", "render_preview": "track"}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOME[name]}", __name__), name)
