"""Render a talking face: the scikit-image astronaut photo with its mouth warped to per-frame lip articulation."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import Lip2SpeechError
from .mouth import draw_mouth_interior

FRAME_SIZE = (360, 288)  # width, height in pixels (GRID)

# Landmark index permutation that keeps the 68-point semantics when the image is mirrored.
_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48] + [59, 58, 57, 56, 55] + [64, 63, 62, 61, 60] + [67, 66, 65]
)
_JAW_MOVING = np.arange(5, 12)
_JAW_WEIGHT = np.array([0.35, 0.65, 0.9, 1.0, 0.9, 0.65, 0.35])
_MESH_LANDMARKS = np.r_[1:16, 29:36, 48:68]


@functools.lru_cache(maxsize=1)
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo (512x512 RGB uint8) and its 68 dlib landmarks (68, 2) in pixels, found once per process."""
    from skimage import data

    from ..video.landmarks import detect_faces, fit_landmarks, to_grey

    img = data.astronaut()
    grey = to_grey(img)
    faces = detect_faces(grey, upsample=1)
    if not len(faces):  # pragma: no cover - fixed image
        raise Lip2SpeechError("dlib found no face in skimage.data.astronaut()")
    return img, fit_landmarks(grey, faces[0]).astype(np.float64)


@dataclass(frozen=True)
class Appearance:
    """Per-speaker look: scale (frame px per photo px), face offset (px), mirror, colour gains, background RGB."""

    scale: float = 1.2
    dx: float = 0.0
    dy: float = 0.0
    mirror: bool = False
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    background: tuple[int, int, int] = (70, 90, 140)
    lip_tint: float = 0.0  # -1..1: paler .. redder lips


@dataclass
class Portrait:
    """A speaker's still frame (H, W, 3) float32 RGB 0-255 with its neutral landmarks and mouth mesh."""

    image: np.ndarray
    landmarks: np.ndarray  # (68, 2) as photographed (teeth showing)
    closed: np.ndarray  # (68, 2) with the lips closed: the rest shape articulation starts from
    mesh_src: np.ndarray  # (P, 2) mesh vertices in the image
    triangles: np.ndarray  # (K, 3) vertex indices
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 of the region the mesh covers
    width: float  # mouth width (px) at rest


def _person_mask(photo: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Soft mask (float32 0-1) of the astronaut's head and suit in the 512x512 photo."""
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, (226, 98), (78, 90), 0, 0, 360, 255, -1)
    body = np.array([[28, 300], [112, 200], [130, 170], [160, 152], [210, 146], [260, 150], [290, 165],
                     [305, 195], [310, 230], [345, 290], [365, 512], [15, 512]], np.int32)  # collar and suit
    cv2.fillPoly(mask, [body], 255)
    # The studio backdrop is pale grey: key it out (outside the face and the collar).
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
    backdrop = ((hsv[..., 1] < 45) & (hsv[..., 2] > 140)).astype(np.uint8)
    ring = np.zeros_like(backdrop)
    cv2.ellipse(ring, (205, 236), (92, 62), 0, 0, 360, 1, -1)  # the silver suit collar
    backdrop[ring > 0] = 0
    backdrop[300:] = 0
    face = np.zeros_like(backdrop)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    backdrop[cv2.dilate(face, np.ones((15, 15), np.uint8)) > 0] = 0
    backdrop = cv2.morphologyEx(backdrop, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask[backdrop > 0] = 0
    return cv2.GaussianBlur(mask, (0, 0), 2).astype(np.float32) / 255.0


def _closed_mouth(pts: np.ndarray) -> np.ndarray:
    """Landmarks with the photographed gap between the inner lips closed (lips meet on the mid line)."""
    out = pts.copy()
    for up, lo, k_up, k_lo in ((61, 67, (50,), (58,)), (62, 66, (51,), (57,)), (63, 65, (52,), (56,))):
        gap = pts[lo, 1] - pts[up, 1]
        out[up, 1] += gap / 2
        out[lo, 1] -= gap / 2
        for k in k_up:
            out[k, 1] += 0.4 * gap
        for k in k_lo:
            out[k, 1] -= 0.4 * gap
    return out


def _fill_teeth(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Paint over the photographed teeth (between the inner lips) with lip texture, so a closed mouth shows none."""
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(lm[60:68] * 4).astype(np.int32)], 255, cv2.LINE_8, shift=2)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(np.clip(img, 0, 255).astype(np.uint8), mask, 3, cv2.INPAINT_TELEA)
    return filled.astype(np.float32)


def _canonical_mouth(lm: np.ndarray) -> np.ndarray:
    """Landmarks with the lips replaced by two concentric ellipses (outer 48-59, inner 60-67), for triangulating."""
    out = lm.copy()
    c = np.array([0.5 * (lm[48, 0] + lm[54, 0]), 0.5 * (lm[51, 1] + lm[57, 1])])
    a = 0.5 * np.linalg.norm(lm[54] - lm[48])
    b = 0.5 * (lm[57, 1] - lm[51, 1])
    sign = 1.0 if lm[54, 0] > lm[48, 0] else -1.0  # mirrored faces have 48 on the right
    outer = np.deg2rad(np.r_[180, 150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150])
    inner = np.deg2rad(np.r_[180, 135, 90, 45, 0, -45, -90, -135])
    for idx, ang, rx, ry in ((np.arange(48, 60), outer, a, b), (np.arange(60, 68), inner, 0.75 * a, 0.45 * b)):
        out[idx, 0] = c[0] + sign * rx * np.cos(ang)
        out[idx, 1] = c[1] - ry * np.sin(ang)
    return out


def make_portrait(app: Appearance = Appearance()) -> Portrait:
    """Compose a speaker's still frame (GRID size) from the astronaut photo with this appearance."""
    photo, pts = astronaut()
    mask = _person_mask(photo, pts)[..., None]
    img = photo.astype(np.float32) * np.asarray(app.gain, np.float32)
    # Background: the speaker's colour with a vertical gradient.
    yy = np.linspace(-1, 1, photo.shape[0], dtype=np.float32)[:, None, None]
    bg = np.asarray(app.background, np.float32) * (1.0 - 0.25 * yy)
    bg = np.broadcast_to(bg, img.shape)
    img = img * mask + bg * (1 - mask)
    if app.lip_tint:
        lips = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(lips, [np.round(pts[48:60]).astype(np.int32)], 255)
        lm = cv2.GaussianBlur(lips, (0, 0), 1.5).astype(np.float32)[..., None] / 255.0
        tint = np.array([1.0 + 0.15 * app.lip_tint, 1.0 - 0.1 * app.lip_tint, 1.0 - 0.1 * app.lip_tint], np.float32)
        img = img * (1 - lm) + img * tint * lm
    w, h = FRAME_SIZE
    # Similarity: the nose tip goes to a GRID-like position, scaled by app.scale.
    anchor = pts[30]
    m = np.array([[app.scale, 0, w / 2 + app.dx - app.scale * anchor[0]],
                  [0, app.scale, h * 0.56 + app.dy - app.scale * anchor[1]]], np.float64)
    frame = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_AREA if app.scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # beyond the photo: more background
    lm = pts @ m[:, :2].T + m[:, 2]
    if app.mirror:
        frame = frame[:, ::-1].copy()
        lm = lm[_MIRROR].copy()
        lm[:, 0] = w - 1 - lm[:, 0]
    frame = _fill_teeth(np.clip(frame, 0, 255).astype(np.float32), lm)
    closed = _closed_mouth(lm)
    # Mesh: lower-face landmarks plus a fixed ring outside the jaw.
    nose = lm[30]
    jaw = lm[1:16]
    ring = nose + (jaw - nose) * 1.3
    src = np.vstack([lm[_MESH_LANDMARKS], ring])
    from scipy.spatial import Delaunay

    # Triangulate an idealised open mouth so that no triangle bridges the upper and the lower lip.
    tri = Delaunay(np.vstack([_canonical_mouth(lm)[_MESH_LANDMARKS], ring])).simplices.astype(np.int32)
    x0, y0 = np.floor(src.min(0)).astype(int) - 2
    x1, y1 = np.ceil(src.max(0)).astype(int) + 3
    roi = (max(x0, 0), max(y0, 0), min(x1, w), min(y1, h))
    return Portrait(frame, lm, closed, src, tri, roi, float(np.linalg.norm(lm[54] - lm[48])))


def articulated_landmarks(portrait: Portrait, params: np.ndarray) -> np.ndarray:
    """Landmarks (T, 68, 2) for articulation `params` (T, 5: open, jaw, spread, round, teeth) on this portrait."""
    params = np.atleast_2d(params).astype(np.float64)
    n = len(params)
    o, j, s, r = (params[:, k][:, None] for k in range(4))
    W = portrait.width
    lm = np.repeat(portrait.closed[None], n, axis=0)
    lips = np.arange(48, 68)
    centre = 0.5 * (lm[:, 48] + lm[:, 54])  # (T, 2)
    # Width: spreading widens, rounding narrows (inner corners more than outer).
    wf = 0.9 + 0.12 * s - 0.3 * r
    dx = lm[:, lips, 0] - centre[:, :1]
    inner = (lips >= 60)[None]
    lm[:, lips, 0] = centre[:, :1] + dx * np.where(inner, wf * (1 - 0.15 * r), wf)
    g = o * 0.42 * W  # inner-lip gap, px
    up, dn = 0.38 * g, 0.62 * g
    side = 0.88 + 0.1 * r  # rounding makes the opening rounder
    protrude = 0.05 * W * r  # lips look thicker when rounded
    moves = {  # landmark: vertical shift (T, 1), positive = down
        62: -up, 61: -up * side, 63: -up * side,
        66: dn, 65: dn * side, 67: dn * side,
        51: -0.75 * up - protrude, 50: -0.65 * up - 0.8 * protrude, 52: -0.65 * up - 0.8 * protrude,
        49: -0.3 * up - 0.3 * protrude, 53: -0.3 * up - 0.3 * protrude,
        57: 0.9 * dn + protrude, 56: 0.8 * dn + 0.8 * protrude, 58: 0.8 * dn + 0.8 * protrude,
        55: 0.45 * dn + 0.3 * protrude, 59: 0.45 * dn + 0.3 * protrude,
        48: 0.2 * dn, 54: 0.2 * dn, 60: 0.3 * dn, 64: 0.3 * dn,
    }
    for k, v in moves.items():
        lm[:, k, 1] += v[:, 0]
    chin = 0.55 * dn + 0.1 * W * j  # (T, 1) chin drop, px
    lm[:, _JAW_MOVING, 1] += chin * _JAW_WEIGHT[None]
    return lm.astype(np.float32)


def _mesh_dst(portrait: Portrait, lm: np.ndarray) -> np.ndarray:
    n_lm = len(_MESH_LANDMARKS)
    dst = portrait.mesh_src.copy()
    dst[:n_lm] = lm[_MESH_LANDMARKS]
    return dst


def _affines(src: np.ndarray, dst: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Per-triangle affine (K, 2, 3) mapping destination points back to source points."""
    d = np.concatenate([dst[tri], np.ones((len(tri), 3, 1))], axis=2)  # (K, 3, 3)
    s = src[tri]  # (K, 3, 2)
    det = np.linalg.det(d)
    ok = np.abs(det) > 1e-6
    m = np.zeros((len(tri), 3, 2))
    m[ok] = np.linalg.solve(d[ok], s[ok])
    return np.transpose(m, (0, 2, 1))


def warp_mouth(portrait: Portrait, lm: np.ndarray) -> np.ndarray:
    """The portrait (float32) with its lower face piecewise-affinely warped from rest to landmarks `lm` (68, 2)."""
    x0, y0, x1, y1 = portrait.roi
    dst = _mesh_dst(portrait, lm)
    aff = _affines(portrait.mesh_src, dst, portrait.triangles)
    index = np.zeros((y1 - y0, x1 - x0), np.int32)
    # Supersampled (shift=4) triangle rasterisation of the destination mesh into a triangle-index image.
    pts = np.round((dst - [x0, y0]) * 16).astype(np.int32)
    d = dst[portrait.triangles]
    area = (d[:, 1, 0] - d[:, 0, 0]) * (d[:, 2, 1] - d[:, 0, 1]) - (d[:, 2, 0] - d[:, 0, 0]) * (d[:, 1, 1] - d[:, 0, 1])
    # Skip triangles inside the inner lips (the cavity is painted there) and degenerate ones, whose
    # near-singular maps would smear far-away pixels along their edges.
    vertex_lm = np.r_[_MESH_LANDMARKS, np.full(len(dst) - len(_MESH_LANDMARKS), -1)]
    inner = np.all(vertex_lm[portrait.triangles] >= 60, axis=1)
    tame = np.abs(aff[:, :, :2]).max(axis=(1, 2)) < 6.0
    for k in np.flatnonzero((np.abs(area) > 0.05) & ~inner & tame):
        t = portrait.triangles[k]
        cv2.fillConvexPoly(index, pts[t], int(k) + 1, lineType=cv2.LINE_8, shift=4)
        cv2.polylines(index, [pts[t]], True, int(k) + 1, 1, cv2.LINE_8, shift=4)  # no gaps along shared edges
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    a = np.concatenate([np.zeros((1, 2, 3)), aff], axis=0).astype(np.float32)[index]  # (h, w, 2, 3)
    inside = index > 0
    map_x = np.where(inside, a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2], xs)
    map_y = np.where(inside, a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2], ys)
    out = portrait.image.copy()
    out[y0:y1, x0:x1] = cv2.remap(portrait.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


@dataclass(frozen=True)
class Motion:
    """Per-clip nuisance: head motion amplitudes (px, degrees, relative scale), lighting and sensor noise."""

    shift: float = 3.0
    rotation: float = 1.5
    zoom: float = 0.02
    light: float = 0.08
    noise: float = 2.5


def _smooth_walk(rng: np.random.Generator, n: int, amplitude: float, fps: float = 25.0) -> np.ndarray:
    """A smooth random trajectory (n,) within about +-amplitude: a sum of slow sinusoids (< 1 Hz)."""
    t = np.arange(n) / fps
    freqs = rng.uniform(0.1, 0.8, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    amps = rng.uniform(0.3, 1.0, 3)
    walk = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(0)
    return amplitude * walk / amps.sum()


def render(
    portrait: Portrait,
    params: np.ndarray,
    seed: int | np.random.SeedSequence = 0,
    motion: Motion = Motion(),
) -> tuple[np.ndarray, np.ndarray]:
    """Render frames (T, H, W, 3) uint8 RGB and their landmarks (T, 68, 2) from articulation `params` (T, 5)."""
    rng = np.random.default_rng(seed)
    params = np.asarray(params, np.float32)
    n = len(params)
    lms = articulated_landmarks(portrait, params)
    h, w = portrait.image.shape[:2]
    dx, dy = _smooth_walk(rng, n, motion.shift), _smooth_walk(rng, n, motion.shift)
    rot, zoom = _smooth_walk(rng, n, motion.rotation), _smooth_walk(rng, n, motion.zoom)
    light = 1.0 + _smooth_walk(rng, n, motion.light)
    tilt = _smooth_walk(rng, n, motion.light)  # left-right lighting gradient
    ramp = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    centre = portrait.landmarks[30]
    frames = np.empty((n, h, w, 3), np.uint8)
    out_lm = np.empty_like(lms)
    # Sensor noise: random crops of a few noise fields drawn once per clip (drawing per frame costs more than
    # the rest of the frame).
    pad = 16
    bank = rng.normal(0.0, motion.noise, (4, h + pad, w + pad, 3)).astype(np.float32)
    picks = rng.integers(0, [4, pad + 1, pad + 1], size=(n, 3))
    for i in range(n):
        img = warp_mouth(portrait, lms[i])
        draw_mouth_interior(img, lms[i], params[i], portrait.width)
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(rot[i]), 1.0 + float(zoom[i]))
        m[:, 2] += (dx[i], dy[i])
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out_lm[i] = lms[i] @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
        img *= light[i] * (1.0 + tilt[i] * ramp)
        k, oy, ox = picks[i]
        img += bank[k, oy:oy + h, ox:ox + w]
        np.clip(img, 0, 255, out=img)
        frames[i] = img.astype(np.uint8)
    return frames, out_lm
