"""Landmark tracking on the real GRID clips against per-frame full detection, and the tracker's robustness."""

from __future__ import annotations

import numpy as np
import pytest

from lip2speech.video import LandmarkTracker, detect_faces, interpolate_invalid
from lip2speech.video.landmarks import landmark_model_path, smooth_runs
from lips_reference import full_detection, grey_frames


def test_model_ships_with_face_recognition_models():
    path = landmark_model_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 50_000_000


def test_interpolate_invalid_fills_linearly_and_holds_the_ends():
    x = np.array([0.0, 9.0, 9.0, 30.0, 9.0, 50.0, 9.0])[:, None] * np.ones((1, 2))
    valid = np.array([False, True, False, True, False, True, False])
    x[1], x[3], x[5] = 10.0, 30.0, 50.0
    out = interpolate_invalid(x, valid)
    np.testing.assert_allclose(out[:, 0], [10, 10, 20, 30, 40, 50, 50])
    ints = interpolate_invalid(np.array([0, 10, 0, 20], np.uint8), np.array([True, True, False, True]))
    assert ints.dtype == np.uint8 and ints[2] == 15


def test_smoothing_stays_inside_runs_of_valid_frames():
    pts = np.zeros((5, 68, 2), np.float32)
    pts[1] = 4.0
    valid = np.array([True, True, False, True, True])
    out = smooth_runs(pts, valid, 0.5)
    assert out[1, 0, 0] == pytest.approx(3.0)  # (0 + 2*4 + 4 (own value at the run edge)) / 4
    assert out[0, 0, 0] == pytest.approx(1.0)
    assert out[3, 0, 0] == 0.0 and out[2, 0, 0] == 0.0  # the invalid frame does not leak into its neighbours


def test_no_face_in_noise():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (288, 360), dtype=np.uint8)
    assert detect_faces(noise).shape == (0, 4)
    lm = LandmarkTracker().track(np.stack([noise] * 3))
    assert not lm.valid.any()


@pytest.fixture(scope="module")
def grid_clips(grid_dir):
    """Grey frames of the six real clips with tracked and per-frame full-detection landmarks."""
    clips = []
    for path in sorted(grid_dir.glob("*.mpg")):
        frames = grey_frames(path)
        tracked = LandmarkTracker().track(frames)
        reference = full_detection(path, upsample=0)
        clips.append((path.name, frames, tracked, reference))
    return clips


@pytest.mark.slow
def test_tracking_finds_the_face_everywhere_detecting_rarely(grid_clips):
    assert len(grid_clips) == 6
    for name, frames, tracked, _ in grid_clips:
        assert tracked.valid.all(), name
        assert tracked.points.shape == (len(frames), 68, 2) and tracked.points.dtype == np.float32
        # the detector ran on the first frame and then only every 10 frames
        assert tracked.detected.sum() <= len(frames) // 10 + 2, name


@pytest.mark.slow
def test_tracked_landmarks_within_2px_of_full_detection(grid_clips):
    for name, _, tracked, reference in grid_clips:
        assert not np.isnan(reference).any(), f"{name}: full detection missed a frame"
        err = np.linalg.norm(tracked.points - reference, axis=-1).mean()
        assert err < 2.0, f"{name}: mean landmark distance {err:.2f} px"


@pytest.mark.slow
def test_lost_face_is_flagged_and_interpolated_not_zero(grid_clips):
    _, frames, tracked, _ = grid_clips[0]
    rng = np.random.default_rng(1)
    broken = frames.copy()
    broken[30:40] = rng.integers(0, 256, broken[30:40].shape, dtype=np.uint8)  # the face vanishes
    lm = LandmarkTracker().track(broken)
    assert not lm.valid[30:40].any()
    assert lm.valid[:30].all() and lm.valid[40:].all()
    lo, hi = lm.points[29], lm.points[40]
    inside = (lm.points[30:40] >= np.minimum(lo, hi) - 1e-3) & (lm.points[30:40] <= np.maximum(lo, hi) + 1e-3)
    assert inside.all()  # interpolated between the last and next good frames
    err = np.linalg.norm(lm.points[lm.valid] - tracked.points[lm.valid], axis=-1).mean()
    assert err < 1.0  # the track recovers after the gap
