"""Per-frame full face detection on the real GRID clips, computed once per test session (it is slow)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from lip2speech.video import detect_landmarks, read_video


@functools.lru_cache(maxsize=None)
def grey_frames(path: Path) -> np.ndarray:
    """Grey frames (T, H, W) uint8 of a clip."""
    return read_video(path, grey=True).frames


@functools.lru_cache(maxsize=None)
def full_detection(path: Path, upsample: int = 0) -> np.ndarray:
    """Landmarks (T, 68, 2) from dlib detection + fitting on every frame (NaN where no face)."""
    out = []
    for frame in grey_frames(path):
        lm = detect_landmarks(frame, upsample=upsample)
        out.append(np.full((68, 2), np.nan, np.float32) if lm is None else lm)
    return np.stack(out)
