"""68-point face landmarks over a video: dlib detection only when needed, landmark fitting every frame."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import Lip2SpeechError

N_LANDMARKS = 68
# Eye corners, eyelids and nose (iBUG 300-W, 0-based) hardly move with speech: they anchor the
# face's position and scale between detections, so jaw opening does not shift the tracking box.
STABLE_POINTS = np.r_[27:36, 36:48]


def landmark_model_path() -> Path:
    """Path of the 68-point shape model shipped by the `face_recognition_models` package."""
    try:
        import face_recognition_models

        return Path(face_recognition_models.pose_predictor_model_location())
    except ImportError:
        # face_recognition_models imports pkg_resources, which setuptools >= 81 no longer ships;
        # the model file is still in the package folder.
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise Lip2SpeechError(
                "the 68-point landmark model is missing: pip install face_recognition_models"
            ) from None
        return Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"


@functools.lru_cache(maxsize=None)
def shape_predictor():
    """The dlib 68-point shape predictor, loaded once per process (~0.7 s)."""
    import dlib

    path = landmark_model_path()
    if not path.is_file():
        raise Lip2SpeechError("68-point landmark model file not found (reinstall face_recognition_models)", path)
    return dlib.shape_predictor(str(path))


@functools.lru_cache(maxsize=None)
def face_detector():
    """The dlib HOG frontal face detector, built once per process."""
    import dlib

    return dlib.get_frontal_face_detector()


def load_face_models() -> None:
    """Build the face detector and load the landmark model now (~1-2 s, once per process), not in the first video."""
    face_detector()
    shape_predictor()


def to_grey(frame: np.ndarray) -> np.ndarray:
    """A uint8 grey (H, W) image from a grey or RGB frame."""
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return frame


def detect_faces(grey: np.ndarray, upsample: int = 0) -> np.ndarray:
    """Face boxes (N, 4) float32 (x0, y0, x1, y1) in px of `grey`, largest first (dlib HOG detector)."""
    rects = face_detector()(np.ascontiguousarray(grey), upsample)
    boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.argsort(-area, kind="stable")]


def fit_landmarks(grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68 landmarks (68, 2) float32 px fitted inside face `box` (x0, y0, x1, y1) of `grey`."""
    import dlib

    x0, y0, x1, y1 = (float(v) for v in box)
    # dlib converts the whole image it is given: hand it only the face with a margin (~30% faster).
    h, w = grey.shape
    m = 0.35 * max(x1 - x0, y1 - y0)
    cx0, cy0 = max(int(x0 - m), 0), max(int(y0 - m), 0)
    cx1, cy1 = min(int(x1 + m) + 1, w), min(int(y1 + m) + 1, h)
    crop = np.ascontiguousarray(grey[cy0:cy1, cx0:cx1])
    rect = dlib.rectangle(int(round(x0)) - cx0, int(round(y0)) - cy0, int(round(x1)) - cx0, int(round(y1)) - cy0)
    shape = shape_predictor()(crop, rect)
    pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
    pts += (cx0, cy0)
    return pts


def detect_landmarks(grey: np.ndarray, upsample: int = 1) -> np.ndarray | None:
    """Full detection on one frame: landmarks (68, 2) of the largest face, or None (the seed's method)."""
    boxes = detect_faces(grey, upsample)
    return fit_landmarks(grey, boxes[0]) if len(boxes) else None


def anchor(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face position (centre of the stable points, px) and scale (their RMS spread, px), for (..., 68, 2) points."""
    stable = points[..., STABLE_POINTS, :]
    centre = stable.sum(axis=-2) / len(STABLE_POINTS)
    d = stable - centre[..., None, :]
    scale = np.sqrt((d * d).sum((-2, -1)) / len(STABLE_POINTS))
    return centre, scale


def appearance(grey: np.ndarray, centre: np.ndarray, scale: float, size: int = 24) -> np.ndarray:
    """The face as a zero-mean unit-norm vector: a size x size patch centred on the anchor, 4 scales wide."""
    s = size / (4.0 * max(float(scale), 1e-3))
    mat = np.array([[s, 0, size / 2 - s * centre[0]], [0, s, size / 2 - s * centre[1]]], np.float32)
    patch = cv2.warpAffine(grey, mat, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    v = patch.astype(np.float32).ravel()
    v -= v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-6)


def interpolate_invalid(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill frames (axis 0) where `valid` is False by linear interpolation between valid ones (held at the ends)."""
    valid = np.asarray(valid, bool)
    if valid.all() or not valid.any():
        return x.copy()
    t = np.arange(len(valid))
    good = np.flatnonzero(valid)
    hi_i = np.clip(np.searchsorted(good, t), 0, len(good) - 1)
    lo_i = np.clip(hi_i - 1, 0, len(good) - 1)
    lo_i = np.where(good[hi_i] == t, hi_i, lo_i)
    lo, hi = good[lo_i], good[hi_i]
    span = np.maximum(hi - lo, 1)
    w = np.clip((t - lo) / span, 0.0, 1.0).reshape(-1, *([1] * (x.ndim - 1)))
    filled = x[lo].astype(np.float64) * (1 - w) + x[hi].astype(np.float64) * w
    out = x.copy()
    out[~valid] = filled[~valid].astype(x.dtype) if x.dtype.kind == "f" else np.rint(filled[~valid]).astype(x.dtype)
    return out


def smooth_runs(points: np.ndarray, valid: np.ndarray, weight: float) -> np.ndarray:
    """Centred 3-tap smoothing (w/2, 1-w, w/2) over time inside runs of valid frames; weight 0 = off."""
    if weight <= 0 or len(points) < 3:
        return points
    prev = np.concatenate([points[:1], points[:-1]])
    nxt = np.concatenate([points[1:], points[-1:]])
    vprev = np.concatenate([[False], valid[:-1]])
    vnext = np.concatenate([valid[1:], [False]])
    # A missing neighbour (run edge) is replaced by the frame itself.
    prev = np.where(vprev[:, None, None], prev, points)
    nxt = np.where(vnext[:, None, None], nxt, points)
    out = (1 - weight) * points + 0.5 * weight * (prev + nxt)
    return np.where(valid[:, None, None], out, points).astype(np.float32)


@dataclass
class Landmarks:
    """Tracked landmarks (T, 68, 2) float32 px, `valid` (T,) bool (face found), `detected` (T,) bool (detector ran)."""

    points: np.ndarray
    valid: np.ndarray
    detected: np.ndarray


class LandmarkTracker:
    """Track 68 landmarks: detect on a reduced frame only when needed, fit landmarks on every frame.

    The detector runs on the first frame, every `detect_every` frames (in a window around the face,
    rescaled so the face is ~`detect_face_px` px) and whenever the track is lost or implausible; between
    detections the face box is carried by the stable landmarks (eyes, nose) of the previous frame.
    `smooth` is the weight of the centred 3-frame landmark smoothing (0 = off).
    """

    def __init__(
        self,
        detect_every: int = 10,
        detect_face_px: int = 90,
        search_px: int = 320,
        smooth: float = 0.5,
        max_scale_change: float = 0.25,
        min_similarity: float = 0.6,
    ) -> None:
        self.min_similarity = min_similarity
        self.detect_every = max(int(detect_every), 1)
        self.detect_face_px = detect_face_px
        self.search_px = search_px
        self.smooth = smooth
        self.max_scale_change = max_scale_change

    # -- detection -------------------------------------------------------------------------------
    def _detect_scaled(self, grey: np.ndarray, scale: float, upsample: int = 0) -> np.ndarray | None:
        img = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes = detect_faces(img, upsample)
        return boxes / scale if len(boxes) else None

    def _search(self, grey: np.ndarray, thorough: bool) -> np.ndarray | None:
        """Whole-frame search: on a frame reduced to `search_px`, then (if thorough) full size and 2x."""
        h, w = grey.shape
        scale = min(1.0, self.search_px / max(h, w))
        boxes = self._detect_scaled(grey, scale)
        if boxes is None and thorough:
            if scale < 1.0:
                boxes = self._detect_scaled(grey, 1.0)
            if boxes is None:
                boxes = self._detect_scaled(grey, 1.0, upsample=1)
        return None if boxes is None else boxes[0]

    def _redetect(self, grey: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Detection in a window 1.6 times the expected face box, rescaled so the face is ~detect_face_px
        (dlib finds faces from ~80 px)."""
        x0, y0, x1, y1 = box
        size = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        h, w = grey.shape
        half = 0.8 * size
        wx0, wy0 = int(max(cx - half, 0)), int(max(cy - half, 0))
        wx1, wy1 = int(min(cx + half, w)), int(min(cy + half, h))
        if wx1 - wx0 < 16 or wy1 - wy0 < 16:
            return None
        scale = min(self.detect_face_px / max(size, 1.0), 2.0)
        boxes = self._detect_scaled(grey[wy0:wy1, wx0:wx1], scale)
        if boxes is None:
            return None
        boxes = boxes + (wx0, wy0, wx0, wy0)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        return boxes[np.argmin(((centres - (cx, cy)) ** 2).sum(1))]

    # -- tracking --------------------------------------------------------------------------------
    def track(self, frames: np.ndarray) -> Landmarks:
        """Landmarks for every frame of (T, H, W) grey or (T, H, W, 3) RGB uint8 frames."""
        n = len(frames)
        points = np.zeros((n, N_LANDMARKS, 2), np.float32)
        valid = np.zeros(n, bool)
        detected = np.zeros(n, bool)
        prev: np.ndarray | None = None  # landmarks of the previous frame while the track holds
        prev_anchor: tuple[np.ndarray, np.ndarray] | None = None
        rel: tuple[np.ndarray, float, float] | None = None  # face box relative to the anchor
        ref_scale = 0.0
        ref_look = np.zeros(0, np.float32)  # face appearance at the last detection
        last_detect = -self.detect_every
        for t in range(n):
            grey = to_grey(frames[t])
            pts = None
            if prev is not None and t - last_detect < self.detect_every:
                pts = fit_landmarks(grey, self._box_from(prev_anchor, rel))
                pts_anchor = anchor(pts)
                # The shape model fits a face to anything: check the face still looks like the detected one.
                if (not self._plausible(pts, pts_anchor[1], ref_scale, grey.shape)
                        or float(appearance(grey, *pts_anchor) @ ref_look) < self.min_similarity):
                    pts = None
            if pts is None:
                detected[t] = True
                box = None
                if prev is not None:
                    box = self._redetect(grey, self._box_from(prev_anchor, rel))
                if box is None:
                    # Lost: cheap search every frame, thorough search on the first frame and every k.
                    box = self._search(grey, thorough=(t == 0 or t % self.detect_every == 0 or prev is not None))
                if box is None:
                    prev = None
                    continue
                pts = fit_landmarks(grey, box)
                last_detect = t
                pts_anchor = anchor(pts)
                centre, scale = pts_anchor
                ref_look = appearance(grey, centre, scale)
                rel = (((box[:2] + box[2:]) / 2 - centre) / scale, (box[2] - box[0]) / scale, (box[3] - box[1]) / scale)
                ref_scale = scale
            points[t] = pts
            valid[t] = True
            prev, prev_anchor = pts, pts_anchor
        if not valid.any():
            return Landmarks(points, valid, detected)
        points = smooth_runs(points, valid, self.smooth)
        return Landmarks(interpolate_invalid(points, valid), valid, detected)

    @staticmethod
    def _box_from(prev_anchor: tuple[np.ndarray, np.ndarray], rel: tuple[np.ndarray, float, float]) -> np.ndarray:
        centre, scale = prev_anchor
        offset, bw, bh = rel
        c = centre + offset * scale
        return np.array([c[0] - bw * scale / 2, c[1] - bh * scale / 2, c[0] + bw * scale / 2, c[1] + bh * scale / 2])

    def _plausible(self, pts: np.ndarray, scale: float, ref_scale: float, shape: tuple[int, int]) -> bool:
        """The fit kept the face's size and stayed (mostly) inside the frame."""
        if abs(scale / ref_scale - 1.0) > self.max_scale_change:
            return False
        h, w = shape
        inside = (pts[:, 0] >= -0.1 * w) & (pts[:, 0] < 1.1 * w) & (pts[:, 1] >= -0.1 * h) & (pts[:, 1] < 1.1 * h)
        return bool(inside.mean() > 0.9)
