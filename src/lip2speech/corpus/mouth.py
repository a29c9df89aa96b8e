"""Paint the inside of a synthetic open mouth (cavity, tongue, teeth, the lip line) between its inner lip
landmarks."""

from __future__ import annotations

import cv2
import numpy as np


def _poly_mask(shape: tuple[int, int], poly: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


def _smooth_closed(poly: np.ndarray, per_segment: int = 6) -> np.ndarray:
    """A closed Catmull-Rom spline through the polygon's vertices (N, 2) -> (N * per_segment, 2)."""
    p0, p1, p2, p3 = (np.roll(poly, k, axis=0) for k in (1, 0, -1, -2))
    t = np.linspace(0, 1, per_segment, endpoint=False)[None, :, None]
    t2, t3 = t * t, t * t * t
    pts = 0.5 * ((2 * p1[:, None]) + (-p0 + p2)[:, None] * t + (2 * p0 - 5 * p1 + 4 * p2 - p3)[:, None] * t2
                 + (-p0 + 3 * p1 - 3 * p2 + p3)[:, None] * t3)
    return pts.reshape(-1, 2)


def _lip_line(roi: np.ndarray, contour: np.ndarray, colour: tuple[int, int, int], alpha: float) -> None:
    """Blend a thin anti-aliased closed line along `contour` (px, ROI coordinates) into `roi` (float32, in place)."""
    line = roi.copy()
    cv2.polylines(line, [np.round(contour * 16).astype(np.int32)], True, colour, 1, cv2.LINE_AA, shift=4)
    roi *= 1 - alpha
    roi += alpha * line


def draw_mouth_interior(img: np.ndarray, lm: np.ndarray, params: np.ndarray, width: float) -> None:
    """Paint the mouth cavity, teeth and tongue inside the inner lips of `lm` (68, 2) onto `img` (float32, in place)."""
    inner = _smooth_closed(lm[60:68].astype(np.float64))  # point 6k is landmark 60 + k
    gap = float(lm[66, 1] - lm[62, 1])
    h, w = img.shape[:2]
    x0, y0 = np.floor(inner.min(0)).astype(int) - 3
    x1, y1 = np.ceil(inner.max(0)).astype(int) + 4
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float64)
    roi = img[y0:y1, x0:x1]
    inner = inner - off
    if gap < 0.3:  # closed lips: only the dark line where they meet
        _lip_line(roi, inner, (70, 30, 32), 0.5)
        return
    o, j, s, r, teeth = (float(v) for v in params[:5])
    shape = roi.shape[:2]
    cavity = _poly_mask(shape, inner)
    # Cavity: dark, darker towards the back (the middle of the opening).
    yy = (np.arange(shape[0], dtype=np.float32)[:, None] + y0 - lm[62, 1]) / max(gap, 1.0)
    shade = np.clip(0.6 + 0.8 * np.abs(yy - 0.5), 0.5, 1.0)
    colour = np.array([45, 14, 18], np.float32) * np.broadcast_to(shade, shape)[..., None]
    # Tongue: a soft reddish half-ellipse resting on the lower lip, visible when the mouth is well open.
    if o > 0.3:
        tongue = np.zeros(shape, np.uint8)
        c = lm[66] - off
        axes = (max(1, int(0.3 * abs(lm[64, 0] - lm[60, 0]))), max(1, int(0.35 * gap)))
        cv2.ellipse(tongue, (int(round(c[0])), int(round(c[1]))), axes, 0, 180, 360, 255, -1, cv2.LINE_AA)
        tm = tongue.astype(np.float32)[..., None] / 255.0 * min(1.0, (o - 0.3) * 3)
        colour = colour * (1 - tm) + np.array([150, 60, 65], np.float32) * tm
    # Teeth: a band under the upper inner lip (and a thinner one above the lower lip).
    t_up = min(0.55 * gap, 0.13 * width) * (0.35 + 0.65 * teeth) * (1 - 0.6 * r)
    t_lo = min(0.3 * gap, 0.08 * width) * teeth * (1 - 0.7 * r)
    teeth_col = np.array([238, 232, 218], np.float32)
    for band, top in ((t_up, True), (t_lo, False)):
        if band < 0.4:
            continue
        edge = inner[:25] if top else np.vstack([inner[24:], inner[:1]])
        poly = np.vstack([edge, (edge[1:-1] + [0.0, band if top else -band])[::-1]])
        tm = (_poly_mask(shape, poly) * cavity)[..., None]
        colour = colour * (1 - tm) + teeth_col * (1.0 if top else 0.8) * tm
    cm = cavity[..., None]
    roi *= 1 - cm
    roi += colour * cm
    _lip_line(roi, inner, (60, 25, 28), 0.4)  # a soft shadow along the inner lip edge
