"""Footage framing: the mouth scale a model was trained at (recorded beside its weights or features), the option
that overrides it, the warning for a face too small or too far from frontal, and re-framing clips with ffmpeg.

The lip front end resamples a video so that its median mouth box is `mouth_width` px wide (lips.lip_track):
the Gabor pictures and features of any footage are then on the training data's scale. A model folder (or a
features folder) records that width in FRAMING_FILE; without one the published behaviour holds (video px).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import write_json

FRAMING_FILE = "framing.json"  # {"mouth_width": px, ...} in a model folder or features folder
MIN_MOUTH_PX = 25.0  # px: a median mouth box narrower than this gives unusable Gabor features
MAX_YAW_DEG = 30.0  # degrees: a head turned further than this from frontal
WIDTH_TOLERANCE = 0.02  # relative: a lips file made at a mouth width this close to the model's is accepted


def read_mouth_width(folder: str | Path) -> float | None:
    """The mouth width (px) recorded in folder/FRAMING_FILE, or None (video px) when there is none."""
    path = Path(folder) / FRAMING_FILE
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text()).get("mouth_width")
    except (OSError, ValueError, AttributeError) as exc:
        raise Lip2SpeechError(f"unreadable framing file ({type(exc).__name__})", path) from None
    return None if value is None else float(value)


def write_mouth_width(folder: str | Path, width: float | None, **extra: Any) -> Path:
    """Record the mouth width (px; None: video px) that folder's lips were made at; returns the file."""
    path = Path(folder) / FRAMING_FILE
    write_json(path, {"mouth_width": None if width is None else float(width), **extra})
    return path


def model_mouth_width(run_dir: str | Path, config: dict[str, Any] | None = None) -> float | None:
    """The mouth width (px) a model's lips were made at: its folder's FRAMING_FILE, else that of the features
    folder it was trained on (config['features']), else None (video px, the published behaviour)."""
    width = read_mouth_width(run_dir)
    if width is None and config and config.get("features") and Path(config["features"]).is_dir():
        width = read_mouth_width(config["features"])
    return width


def resolve_mouth_width(choice: float | None | str, model_width: float | None) -> float | None:
    """The mouth width (px, or None for video px) to extract at: 'model' takes the model's, else the choice."""
    return model_width if choice == "model" else choice  # type: ignore[return-value]


def same_width(a: float | None, b: float | None) -> bool:
    """Whether two mouth widths (px or None) are the same scale, within WIDTH_TOLERANCE."""
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= WIDTH_TOLERANCE * max(float(a), float(b))


def median_mouth_width(mouth_boxes: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Median width (px) of the mouth boxes (T, 4) (x0, y0, x1, y1) of the frames with a face."""
    boxes = np.asarray(mouth_boxes, np.float64)
    keep = np.ones(len(boxes), bool) if valid is None else np.asarray(valid, bool)
    w = (boxes[:, 2] - boxes[:, 0])[keep]
    return float(np.median(w)) if len(w) else float("nan")


def yaw_degrees(landmarks: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Median head yaw (degrees, 0 = frontal, sign: towards the image's right) from 68 landmarks (T, 68, 2):
    the nose's place between the eye corners (36, 45), the mouth corners (48, 54) and the jaw (2, 14)."""
    lm = np.asarray(landmarks, np.float64)
    if valid is not None:
        lm = lm[np.asarray(valid, bool)]
    if not len(lm):
        return float("nan")
    nose = lm[:, 30, 0]
    ratios = []
    for left, right in ((36, 45), (48, 54), (2, 14)):
        span = lm[:, right, 0] - lm[:, left, 0]
        ratios.append(np.clip((nose - lm[:, left, 0]) / np.where(np.abs(span) > 1e-6, span, np.nan), 0.0, 1.0))
    # a frontal face has the nose midway (0.5); fully turned puts it at a side (0 or 1): sin(yaw) ~ 2r - 1
    r = np.nanmedian(np.stack(ratios), axis=0)
    return float(np.degrees(np.arcsin(np.clip(2.0 * np.nanmedian(r) - 1.0, -1.0, 1.0))))


def footage_warning(landmarks: np.ndarray, mouth_boxes: np.ndarray, valid: np.ndarray) -> str | None:
    """One line saying why footage will give a poor result (face too small, or too far from frontal), or None."""
    width, yaw = median_mouth_width(mouth_boxes, valid), yaw_degrees(landmarks, valid)
    problems = []
    if np.isfinite(width) and width < MIN_MOUTH_PX:
        problems.append(f"the mouth is only {width:.0f} px wide (under {MIN_MOUTH_PX:.0f} px: film closer or "
                        "at a higher resolution)")
    if np.isfinite(yaw) and abs(yaw) > MAX_YAW_DEG:
        problems.append(f"the head is turned about {abs(yaw):.0f} degrees from frontal (over {MAX_YAW_DEG:.0f})")
    return ("warning: " + "; ".join(problems) + ": expect few words and poor speech") if problems else None


REFRAMINGS = {  # name -> ffmpeg video filter (GRID's 360x288 in; even sizes out)
    "original": None,
    "2x 720x576": "scale=720:576:flags=bicubic",
    "2.5x in 1280x720": "scale=900:720:flags=bicubic,pad=1280:720:190:0:black",
    "1x in 1280x720": "pad=1280:720:460:216:black",
}


def reframe(src: str | Path, dst: str | Path, video_filter: str | None) -> Path:
    """Write `src` re-framed by an ffmpeg video filter (scale/pad) to `dst` (H.264 CRF 12 MP4 with the audio), as
    a user's upscaled or boxed footage would be; None copies the file as it is."""
    dst = Path(dst)
    if video_filter is None:
        shutil.copyfile(src, dst)
        return dst
    from ..video.io import ffmpeg_exe

    args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-vf", video_filter, "-c:v", "libx264",
            "-crf", "12", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(dst)]
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode != 0:
        raise Lip2SpeechError(f"ffmpeg failed: {res.stderr.strip().splitlines()[-1:]}", src)
    return dst
