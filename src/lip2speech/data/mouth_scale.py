"""The mouth scale of a features folder: the width its lips were made at, and the warning when a model was
trained at another."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..lips.framing import median_mouth_width, read_mouth_width
from .store import read_fields


def item_mouth_widths(paths: Iterable[str | Path]) -> np.ndarray:
    """Each item file's median mouth box width (px, the scale it was prepared at); items without a face left out."""
    widths = []
    for path in paths:
        z = read_fields(path, ("lips_mouth_boxes", "lips_valid"))
        widths.append(median_mouth_width(z["lips_mouth_boxes"], z["lips_valid"]))
    widths = np.asarray(widths, np.float64)
    return widths[np.isfinite(widths)]


def features_mouth_width(features_dir: str | Path, sample: int = 20) -> float | None:
    """The mouth width (px) a features folder's lips are at: the recorded one, else the median mouth box of up to
    `sample` of its items (video px); None when it has neither."""
    recorded = read_mouth_width(features_dir)
    if recorded is not None:
        return recorded
    widths = item_mouth_widths(sorted((Path(features_dir) / "items").rglob("*.npz"))[:sample])
    return float(np.median(widths)) if widths.size else None


def features_scale_warning(model_width: float | None, features_dir: str | Path, slack: float = 0.1) -> str | None:
    """One line when a features folder's lips are at another mouth scale than a model's (more than `slack`
    relative), or None; a model without a recorded width (published systems) never warns."""
    if model_width is None:
        return None
    width = features_mouth_width(features_dir)
    if width is None or abs(width / model_width - 1.0) <= slack:
        return None
    return (f"warning: these features have a {width:.0f} px mouth, the model was trained at {model_width:.0f} px: "
            f"prepare the clips with --mouth-width {model_width:g} to score them at the model's scale")
