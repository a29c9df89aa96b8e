"""Lip Gabor front end: mouth region from landmarks, Gabor picture (GP), seven Gabor features (GF), face crops."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .crop_size import FACE_SIZE

GF_NAMES = ("width", "height", "area", "centroid_x", "centroid_y", "mean_intensity", "orientation")
GP_SIZE = (80, 40)  # (width, height) of the GP images GaborPic2Speech eats
MIN_MOUTH_PX = 4


@functools.lru_cache(maxsize=None)
def gabor_kernel() -> np.ndarray:
    """The published kernel: OpenCV size (12, 12) (13x13 taps), sigma 5, theta 90 deg, lambda 10, gamma 0.5, psi 0."""
    return cv2.getGaborKernel((12, 12), 5.0, np.pi / 2, 10.0, 0.5, 0.0, ktype=cv2.CV_32F)


def mouth_geometry(landmarks: np.ndarray, box_smooth: int = 0, centre_smooth: int = 0) -> np.ndarray:
    """Mouth region edges and centre (T, 6) float px (x0, y0, x1, y1, cx, cy) from landmarks (T, 68, 2).

    Edges: x from landmark 5 to 11, y from 13 to 10; centre: midpoint of the mouth corners 48 and 54.
    With `box_smooth` / `centre_smooth` > 1 they are averaged over that many frames in face-normalised
    coordinates (relative to the eyes and nose), which removes jaw-landmark jitter but not head motion.
    """
    from ..video.landmarks import anchor

    lm = np.asarray(landmarks, np.float64)
    c = (lm[:, 48] + lm[:, 54]) / 2
    geom = np.stack([lm[:, 5, 0], lm[:, 13, 1], lm[:, 11, 0], lm[:, 10, 1], c[:, 0], c[:, 1]], axis=1)
    if max(box_smooth, centre_smooth) > 1 and len(lm) > 1:
        from scipy.ndimage import uniform_filter1d

        origin, scale = anchor(lm)
        origin = np.tile(origin, 3)
        rel = (geom - origin) / scale[:, None]
        if box_smooth > 1:
            rel[:, :4] = uniform_filter1d(rel[:, :4], box_smooth, axis=0, mode="nearest")
        if centre_smooth > 1:
            rel[:, 4:] = uniform_filter1d(rel[:, 4:], centre_smooth, axis=0, mode="nearest")
        geom = rel * scale[:, None] + origin
    return geom


def box_from_geometry(geometry: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Integer mouth boxes (..., 4) int32 (x0, y0, x1, y1), end-exclusive px, inside the frame, >= 4 px a side."""
    h, w = frame_shape[:2]
    x0, y0, x1, y1 = (np.rint(geometry[..., i]) for i in range(4))
    x0, y0 = np.clip(x0, 0, w - MIN_MOUTH_PX), np.clip(y0, 0, h - MIN_MOUTH_PX)
    x1 = np.clip(np.maximum(x1, x0 + MIN_MOUTH_PX), 0, w)
    y1 = np.clip(np.maximum(y1, y0 + MIN_MOUTH_PX), 0, h)
    return np.stack([x0, y0, x1, y1], axis=-1).astype(np.int32)


def mouth_box(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Per-frame mouth region (..., 4) int32 (x0, y0, x1, y1), end-exclusive px: x from landmark 5 to 11, y from 13 to 10."""
    lm = np.asarray(landmarks, np.float32)
    geom = np.stack([lm[..., 5, 0], lm[..., 13, 1], lm[..., 11, 0], lm[..., 10, 1]], axis=-1)
    return box_from_geometry(geom, frame_shape)


def mouth_centre(landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Mouth centre (x, y) px relative to the mouth box: midpoint of the mouth corners (landmarks 48, 54)."""
    lm = np.asarray(landmarks, np.float32)
    return (lm[..., 48, :] + lm[..., 54, :]) / 2 - np.asarray(box)[..., :2]


def crop_mouth(grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The grey mouth region (h, w) uint8 of a frame."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return grey[y0:y1, x0:x1]


def gabor_picture(mouth_grey: np.ndarray) -> np.ndarray:
    """Lip Gabor Picture: squared response of the published Gabor kernel to the grey region in [0, 1], float32."""
    img = np.asarray(mouth_grey)
    img = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    response = cv2.filter2D(img, cv2.CV_32F, gabor_kernel())
    return response * response


def gabor_picture_in(grey: np.ndarray, box: np.ndarray, context: bool = True, scale: float = 1.0) -> np.ndarray:
    """GP of the mouth `box` of a grey frame; with `context` the filter sees the pixels around the box
    (no reflected-border artefacts that move with the box), otherwise the box is cropped first (published).
    With `scale` != 1 the frame is resampled by that factor first and `box` is in resampled px."""
    x0, y0, x1, y1 = (int(v) for v in box)
    m = gabor_kernel().shape[0] // 2 + 1 if context else 0
    if scale != 1.0:
        region = _scaled_window(grey, x0 - m, y0 - m, x1 - x0 + 2 * m, y1 - y0 + 2 * m, scale)
        gp = gabor_picture(region)
        return gp[m : m + y1 - y0, m : m + x1 - x0]
    if not context:
        return gabor_picture(crop_mouth(grey, box))
    ax, ay = max(x0 - m, 0), max(y0 - m, 0)
    gp = gabor_picture(grey[ay : y1 + m, ax : x1 + m])
    return gp[y0 - ay : y1 - ay, x0 - ax : x1 - ax]


def _scaled_window(grey: np.ndarray, ox: int, oy: int, ow: int, oh: int, s: float) -> np.ndarray:
    """The window (ox, oy, ow, oh) px of the frame resampled by factor s (anti-aliased when shrinking)."""
    h, w = grey.shape
    X0, Y0 = max(int(np.floor(ox / s)) - 2, 0), max(int(np.floor(oy / s)) - 2, 0)
    X1, Y1 = min(int(np.ceil((ox + ow) / s)) + 3, w), min(int(np.ceil((oy + oh) / s)) + 3, h)
    crop = grey[Y0:Y1, X0:X1]
    if s < 1.0:
        crop = cv2.GaussianBlur(crop, (0, 0), 0.4 / s)
    mat = np.array([[s, 0, s * X0 - ox], [0, s, s * Y0 - oy]], np.float32)
    return cv2.warpAffine(crop, mat, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def resize_gp(gp: np.ndarray, size: tuple[int, int] = GP_SIZE) -> np.ndarray:
    """GP resized to `size` (width, height) px, float32."""
    return cv2.resize(gp, size, interpolation=cv2.INTER_AREA)


def jpeg_round_trip(gp: np.ndarray) -> np.ndarray:
    """The published bug: GP saved as JPEG (OpenCV rounds floats to uint8 first) and read back grey, uint8."""
    as_u8 = np.clip(np.rint(gp), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", as_u8)
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def threshold_yen(image: np.ndarray, nbins: int = 256) -> float:
    """Yen's threshold of an image (same value as skimage.filters.threshold_yen), vectorised on a histogram."""
    lo, hi = float(image.min()), float(image.max())
    if lo == hi:
        return lo
    if image.dtype == np.uint8:
        # skimage bins integer images one bin per value over the image's range.
        hist = np.bincount(image.ravel() - int(lo), minlength=int(hi - lo) + 1).astype(np.float64)
        centres = np.arange(int(lo), int(hi) + 1, dtype=np.float64)
    else:
        # np.histogram's bins (last one closed), by direct binning: several times faster.
        idx = ((image.ravel() - lo) * (nbins / (hi - lo))).astype(np.intp)
        hist = np.bincount(np.minimum(idx, nbins - 1), minlength=nbins).astype(np.float64)
        centres = lo + (np.arange(nbins) + 0.5) * ((hi - lo) / nbins)
    pmf = hist / hist.sum()
    p1 = np.cumsum(pmf)
    p1_sq = np.cumsum(pmf**2)
    p2_sq = np.cumsum(pmf[::-1] ** 2)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        crit = np.log(((p1_sq[:-1] * p2_sq[1:]) ** -1) * (p1[:-1] * (1.0 - p1[:-1])) ** 2)
    crit = np.where(np.isfinite(crit), crit, -np.inf)
    return float(centres[int(np.argmax(crit))])


def _orientation(mask: np.ndarray) -> float:
    """Region orientation in radians, skimage regionprops convention (angle of the major axis from the row axis)."""
    m = cv2.moments(mask, binaryImage=True)
    if m["m00"] == 0:
        return 0.0
    var_x, var_y, cov = m["mu20"] / m["m00"], m["mu02"] / m["m00"], m["mu11"] / m["m00"]
    if var_x == var_y:
        return np.pi / 4 if cov > 0 else -np.pi / 4
    return 0.5 * float(np.arctan2(2 * cov, var_y - var_x))


def gabor_features(
    gp: np.ndarray, centre: np.ndarray, legacy: bool = False, min_area: float = 0.01, tie: float = 0.15
) -> np.ndarray:
    """Seven GF (width, height, area px, centroid x, y px, mean intensity, orientation rad) of the Yen-thresholded
    GP region whose centroid is closest to the mouth `centre` (x, y px in the GP); NaN when nothing passes.

    Regions smaller than `min_area` of the GP are specks of noise and are passed over (unless nothing else
    is left). Centroid distances within `tie` x the GP width (px) of the closest one count as a tie, won by
    the largest region: the lips often split into two pieces about equally far from the centre, and an
    exact nearest test would flip between them on sub-pixel landmark noise. `legacy=True` reproduces the
    published pipeline: GP through a JPEG round trip, every region a candidate, and the region chosen by
    the per-axis test (see `_legacy_pick`).
    """
    image = jpeg_round_trip(gp) if legacy else np.asarray(gp, np.float32)
    binary = (image > threshold_yen(image)).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.full(len(GF_NAMES), np.nan, np.float32)
    stats, centroids = stats[1:], centroids[1:]
    cx, cy = float(centre[0]), float(centre[1])
    if legacy:
        k = _legacy_pick(centroids, cx, cy)
    else:
        big = np.flatnonzero(stats[:, 4] >= min_area * gp.size)
        cand = big if len(big) else np.arange(len(stats))
        dist = np.hypot(centroids[cand, 0] - cx, centroids[cand, 1] - cy)
        near = cand[dist <= dist.min() + tie * gp.shape[1]]
        k = int(near[np.argmax(stats[near, 4])])  # first (lowest label) of equal areas
    x, y, w, h, area = stats[k]
    # Moments and mean only inside the chosen component's bounding box.
    sub = labels[y : y + h, x : x + w] == k + 1
    mean = float(image[y : y + h, x : x + w][sub].mean())
    orient = _orientation(sub.astype(np.uint8))
    return np.array([w, h, area, centroids[k, 0], centroids[k, 1], mean, orient], np.float32)


def _legacy_pick(centroids: np.ndarray, cx: float, cy: float) -> int:
    """The published 'closest region' test: scan regions in label order and take one only if it is nearer
    on BOTH axes than the current pick, which is not a distance (a region far on one axis can win)."""
    best, best_dx, best_dy = 0, abs(centroids[0, 0] - cx), abs(centroids[0, 1] - cy)
    for k in range(1, len(centroids)):
        dx, dy = abs(centroids[k, 0] - cx), abs(centroids[k, 1] - cy)
        if dx < best_dx and dy < best_dy:
            best, best_dx, best_dy = k, dx, dy
    return best


def face_crop(grey: np.ndarray, landmarks: np.ndarray, size: int = FACE_SIZE, zoom: float = 4.2) -> np.ndarray:
    """Square grey face crop (size, size) uint8 centred on the landmarks, its side `zoom` times the RMS spread
    of the stable points (eyes, nose), so jaw movement does not rescale it."""
    from ..video.landmarks import anchor

    lm = np.asarray(landmarks, np.float32)
    lo, hi = lm.min(0), lm.max(0)
    centre = (lo + hi) / 2
    _, scale = anchor(lm)
    side = max(float(zoom * scale), 1.0)
    s = size / side
    mat = np.array([[s, 0, size / 2 - s * centre[0]], [0, s, size / 2 - s * centre[1]]], np.float32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(grey, mat, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)
