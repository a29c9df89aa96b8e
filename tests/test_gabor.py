"""Gabor picture and features on small generated images, checked against scikit-image and by construction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.filters import threshold_yen as sk_threshold_yen
from skimage.measure import label, regionprops

from lip2speech.lips.gabor import (
    GF_NAMES,
    _legacy_pick,
    face_crop,
    gabor_features,
    gabor_kernel,
    gabor_picture,
    gabor_picture_in,
    jpeg_round_trip,
    mouth_box,
    mouth_centre,
    mouth_geometry,
    threshold_yen,
)


def _stripes(horizontal: bool, size=(40, 60), wavelength=10.0) -> np.ndarray:
    yy, xx = np.mgrid[: size[0], : size[1]].astype(np.float32)
    axis = yy if horizontal else xx
    return 0.5 + 0.5 * np.sin(2 * np.pi * axis / wavelength)


def test_kernel_is_the_published_one():
    k = gabor_kernel()
    assert k.shape == (13, 13) and k.dtype == np.float32  # OpenCV's (12, 12) gives 13 taps
    # theta = 90 deg: the carrier runs along y, so the kernel is symmetric left-right and varies top-bottom
    assert np.allclose(k, k[:, ::-1], atol=1e-6)
    assert abs(k[6, 6] - 1.0) < 1e-6  # psi = 0: cosine peak at the centre


def test_gp_responds_to_horizontal_lip_edges_not_vertical():
    h = gabor_picture(_stripes(True))
    v = gabor_picture(_stripes(False))
    assert h.dtype == np.float32 and h.shape == (40, 60) and (h >= 0).all()
    assert h[10:30, 10:50].mean() > 20 * v[10:30, 10:50].mean()


def test_gp_accepts_uint8_as_unit_range():
    img = (_stripes(True) * 255).round().astype(np.uint8)
    assert np.allclose(gabor_picture(img), gabor_picture(img.astype(np.float32) / 255), atol=1e-5)


def test_gp_with_context_has_no_border_artefacts():
    rng = np.random.default_rng(1)
    frame = (rng.random((80, 100)) * 255).astype(np.uint8)
    box = np.array([20, 30, 70, 55])
    inner = gabor_picture_in(frame, box)
    full = gabor_picture(frame)[30:55, 20:70]
    assert inner.shape == (25, 50)
    assert np.allclose(inner, full, rtol=1e-5, atol=1e-5)
    cropped = gabor_picture_in(frame, box, context=False)  # published: the crop's border is reflected
    assert not np.allclose(cropped[0], full[0], rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_threshold_yen_matches_skimage(dtype):
    rng = np.random.default_rng(2)
    for _ in range(5):
        img = rng.gamma(2.0, 10.0, size=(37, 61))
        img = img.astype(np.float32) if dtype == np.float32 else np.clip(img, 0, 255).astype(np.uint8)
        ours, ref = threshold_yen(img), float(sk_threshold_yen(img))
        assert ours == pytest.approx(ref, rel=1e-4, abs=1e-4 * float(img.max()))


def _blobs() -> np.ndarray:
    """A GP-like image: a tilted ellipse near the centre, a far bar and a small speck, on faint noise."""
    rng = np.random.default_rng(3)
    img = rng.random((50, 80)).astype(np.float32) * 0.01
    cv2.ellipse(img, (40, 25), (18, 5), 20, 0, 360, 10.0, -1)
    img[2:6, 5:70] = 8.0
    img[22:24, 62:64] = 9.0
    return img


def test_features_match_skimage_regionprops_of_closest_region():
    img = _blobs()
    centre = np.array([41.0, 26.0])
    gf = gabor_features(img, centre, min_area=0.0)
    props = regionprops(label(img > sk_threshold_yen(img)), intensity_image=img)
    d = [np.hypot(p.centroid[1] - centre[0], p.centroid[0] - centre[1]) for p in props]
    p = props[int(np.argmin(d))]
    ref = [p.bbox[3] - p.bbox[1], p.bbox[2] - p.bbox[0], p.area, p.centroid[1], p.centroid[0],
           p.intensity_mean, p.orientation]
    assert gf.shape == (len(GF_NAMES),) and gf.dtype == np.float32
    np.testing.assert_allclose(gf, ref, rtol=1e-5, atol=1e-4)
    assert abs(gf[6]) > 0.2  # the ellipse is tilted: the orientation is measured, not a default


def test_small_specks_are_passed_over():
    img = _blobs()
    near_speck = np.array([62.5, 22.5])  # right on the 4 px speck
    assert gabor_features(img, near_speck, min_area=0.0)[2] == 4
    assert gabor_features(img, near_speck)[2] > 100  # default: the ellipse


def test_empty_threshold_gives_nan():
    assert np.isnan(gabor_features(np.zeros((20, 30), np.float32), np.array([15.0, 10.0]))).all()


def test_legacy_region_test_is_not_a_distance():
    centroids = np.array([[21.0, 4.0], [23.0, 23.0]])  # from centre (20, 20): (1, 16) and (3, 3)
    assert _legacy_pick(centroids, 20.0, 20.0) == 0  # not nearer on both axes -> the first region stays
    img = np.zeros((40, 40), np.float32)
    img[3:6, 16:27] = 50.0  # region 1 (top, larger), centroid (21, 4)
    img[21:26, 21:26] = 50.0  # region 2, centroid (23, 23)
    centre = np.array([20.0, 20.0])
    assert gabor_features(img, centre)[4] == pytest.approx(23.0)  # Euclidean: region 2, far nearer
    assert gabor_features(img, centre, legacy=True)[4] == pytest.approx(4.0, abs=0.5)


def test_near_tie_goes_to_the_larger_region():
    img = np.zeros((40, 80), np.float32)
    img[18:23, 20:32] = 50.0  # left lip half, 60 px, centroid x 25.5
    img[18:22, 50:60] = 50.0  # right lip half, 40 px, centroid x 54.5
    # a centre 3 px nearer the small right half: a tie (within 0.15 x 80 px), the larger left half wins
    centre = np.array([41.5, 20.0])
    assert gabor_features(img, centre)[2] == 60
    assert gabor_features(img, centre, tie=0.0)[2] == 40  # exact nearest test
    # clearly nearer (by more than the tie) wins even when smaller
    assert gabor_features(img, np.array([52.0, 20.0]))[2] == 40


def test_jpeg_round_trip_rounds_away_the_grey_levels():
    gp = np.full((40, 60), 0.4, np.float32)
    gp[10:30, 10:50] = 0.45  # all below 0.5: every grey level is lost
    gp[0:5, 0:5] = 40.0
    out = jpeg_round_trip(gp)
    assert out.dtype == np.uint8 and out.shape == gp.shape
    assert out[15:25, 15:45].max() <= 1 and out[1:4, 1:4].min() >= 35


def _template_landmarks() -> np.ndarray:
    """A face-like 68-point layout in iBUG order (jaw, brows, nose, eyes, mouth) around (100, 100)."""
    lm = np.zeros((68, 2), np.float32)
    a = np.linspace(np.pi, 0, 17)
    lm[:17] = np.stack([100 + 40 * np.cos(a), 100 + 40 * np.sin(a) - 10], 1)  # jaw, ear to ear via the chin
    lm[17:27] = np.stack([np.linspace(70, 130, 10), np.full(10, 70)], 1)
    lm[27:36] = np.stack([np.full(9, 100.0), np.linspace(75, 105, 9)], 1)
    lm[27:36, 0] += np.linspace(-8, 8, 9) * (np.arange(9) >= 4)
    lm[36:42] = np.stack([75 + 10 * np.cos(np.linspace(0, 2 * np.pi, 6, endpoint=False)), 82 + 3 * np.sin(np.linspace(0, 2 * np.pi, 6, endpoint=False))], 1)
    lm[42:48] = lm[36:42] + (50, 0)
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    lm[48:68] = np.stack([100 + 20 * np.cos(t), 118 + 6 * np.sin(t)], 1)
    lm[48], lm[54] = (80, 118), (120, 118)
    return lm


def test_mouth_box_follows_the_specified_landmarks_and_stays_inside():
    lm = _template_landmarks()
    box = mouth_box(lm, (200, 200))
    assert box.dtype == np.int32
    assert tuple(box) == (round(lm[5, 0]), round(lm[13, 1]), round(lm[11, 0]), round(lm[10, 1]))
    assert np.allclose(mouth_centre(lm, box), (100 - box[0], 118 - box[1]))
    shifted = lm + (-150, 0)  # mostly off the left edge
    b = mouth_box(shifted, (200, 200))
    assert b[0] >= 0 and b[2] - b[0] >= 4 and b[3] <= 200


def test_geometry_smoothing_removes_jitter_but_follows_head_motion():
    rng = np.random.default_rng(4)
    t = np.arange(60)
    motion = np.stack([2.0 * t, 30 * np.sin(t / 10)], 1)  # a head moving fast
    lm = _template_landmarks()[None] + motion[:, None]
    exact = mouth_geometry(lm)
    assert np.allclose(mouth_geometry(lm, 9, 3), exact, atol=1e-6)  # rigid motion passes unchanged
    noisy = lm.copy()
    noisy[:, [5, 10, 11, 13]] += rng.normal(0, 1.0, (60, 4, 2))
    raw_err = np.abs(mouth_geometry(noisy)[:, :4] - exact[:, :4]).std()
    smooth_err = np.abs(mouth_geometry(noisy, 9, 3)[:, :4] - exact[:, :4]).std()
    assert smooth_err < 0.5 * raw_err


def test_face_crop_is_centred_and_fixed_size():
    frame = np.zeros((200, 200), np.uint8)
    lm = _template_landmarks()
    lo, hi = lm.min(0), lm.max(0)
    cx, cy = ((lo + hi) / 2).round().astype(int)
    frame[cy - 3 : cy + 4, cx - 3 : cx + 4] = 255
    crop = face_crop(frame, lm, size=48)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    y, x = np.unravel_index(np.argmax(crop), crop.shape)
    assert abs(x - 24) <= 2 and abs(y - 24) <= 2
