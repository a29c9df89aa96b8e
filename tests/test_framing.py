"""Footage framing: the model's mouth scale, the --mouth-width option, lips files at that scale, the warning."""

from __future__ import annotations

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import check_folder_width
from lip2speech.cli.options import parse_mouth_width
from lip2speech.data.mouth_scale import features_scale_warning
from lip2speech.lips.framing import (FRAMING_FILE, footage_warning, model_mouth_width, read_mouth_width,
                                     resolve_mouth_width, write_mouth_width, yaw_degrees)
from lip2speech.lips.track import LipTrack, default_lip_settings, load_track_for
from lip2speech.training.shipped import resolve_run


def face(yaw_deg: float = 0.0, size: float = 1.0, frames: int = 10) -> np.ndarray:
    """68 landmarks (frames, 68, 2) px of a schematic head turned by `yaw_deg`: points on a face 3-D layout."""
    pts = np.zeros((68, 3))
    pts[:, 0] = np.linspace(-40, 40, 68)  # filler spread over the face
    for i, (x, z) in {36: (-45, 0), 45: (45, 0), 48: (-25, 5), 54: (25, 5), 2: (-65, -40), 14: (65, -40),
                      30: (0, 35)}.items():
        pts[i, 0], pts[i, 2] = x, z
    pts[:, 1] = np.linspace(-50, 80, 68)
    a = np.radians(yaw_deg)
    x = pts[:, 0] * np.cos(a) + pts[:, 2] * np.sin(a)
    lm = np.stack([x, pts[:, 1]], 1) * size + 200
    return np.repeat(lm[None], frames, 0).astype(np.float32)


def boxes(width: float, frames: int = 10) -> np.ndarray:
    """Mouth boxes (frames, 4) px `width` wide."""
    return np.tile(np.array([100, 100, 100 + width, 140], np.int32), (frames, 1))


def test_parse_mouth_width():
    assert parse_mouth_width(None) == "model" and parse_mouth_width(None, default=None) is None
    assert parse_mouth_width("model") == "model" and parse_mouth_width("OFF") is None
    assert parse_mouth_width("60") == 60.0 and parse_mouth_width("grid-s1") == pytest.approx(73.0)
    for bad in ("5", "wide", "1e9"):
        with pytest.raises(Lip2SpeechError, match="--mouth-width"):
            parse_mouth_width(bad)
    assert resolve_mouth_width("model", 73.0) == 73.0 and resolve_mouth_width(None, 73.0) is None
    assert resolve_mouth_width(50.0, None) == 50.0


def test_model_mouth_width_from_the_model_or_its_features(tmp_path):
    assert model_mouth_width(resolve_run("grid-s1")) == pytest.approx(73.0)
    run, feats = tmp_path / "run", tmp_path / "feats"
    run.mkdir(), feats.mkdir()
    assert model_mouth_width(run, {"features": str(feats)}) is None  # published: video px
    write_mouth_width(feats, 60.0)
    assert model_mouth_width(run, {"features": str(feats)}) == 60.0
    write_mouth_width(run, 70.0)
    assert model_mouth_width(run, {"features": str(feats)}) == 70.0


def test_lips_file_accepted_at_the_models_scale_only(tmp_path):
    n = 30
    track = LipTrack(landmarks=face(frames=n), mouth_boxes=boxes(70, n), gp=np.zeros((n, 40, 80), np.float32),
                     gf=np.zeros((n, 7), np.float32), faces=np.zeros((n, 64, 64), np.uint8), valid=np.ones(n, bool),
                     fps=25.0, settings={**default_lip_settings(), "mouth_width": 73.0})
    track.save(tmp_path / "at73.npz")
    assert len(load_track_for(tmp_path / "at73.npz", 73.0)) == n
    assert len(load_track_for(tmp_path / "at73.npz", 73.5)) == n  # within the tolerance
    with pytest.raises(Lip2SpeechError, match="mouth_width=73.0.*video px"):
        load_track_for(tmp_path / "at73.npz")
    track.settings["mouth_width"] = None
    track.save(tmp_path / "px.npz")
    with pytest.raises(Lip2SpeechError, match="--mouth-width 73"):
        load_track_for(tmp_path / "px.npz", 73.0)


def test_yaw_and_warning():
    assert abs(yaw_degrees(face(0))) < 1
    assert 5 < yaw_degrees(face(15)) < yaw_degrees(face(30)) < yaw_degrees(face(50))
    assert yaw_degrees(face(-30)) == pytest.approx(-yaw_degrees(face(30)), abs=1e-3)
    valid = np.ones(10, bool)
    assert footage_warning(face(5), boxes(73), valid) is None
    small = footage_warning(face(5, 0.3), boxes(20), valid)
    assert small.startswith("warning:") and "20 px" in small and "\n" not in small
    turned = footage_warning(face(60), boxes(73), valid)
    assert "turned" in turned and "px wide" not in turned


def test_features_folder_keeps_one_scale(tmp_path):
    check_folder_width(tmp_path, 73.0, has_items=False)
    assert read_mouth_width(tmp_path) == 73.0
    check_folder_width(tmp_path, 73.0, has_items=True)
    with pytest.raises(Lip2SpeechError, match="prepared at mouth width 73 px, not video px"):
        check_folder_width(tmp_path, None, has_items=True)
    (tmp_path / FRAMING_FILE).unlink()
    check_folder_width(tmp_path, None, has_items=True)  # a published folder stays as it is: no file
    assert not (tmp_path / FRAMING_FILE).exists()
    with pytest.raises(Lip2SpeechError, match="video px, not mouth width 60"):
        check_folder_width(tmp_path, 60.0, has_items=True)


def test_features_scale_warning(tmp_path):
    assert features_scale_warning(None, tmp_path) is None  # published models never warn
    write_mouth_width(tmp_path, 150.0)
    assert "--mouth-width 73" in features_scale_warning(73.0, tmp_path)
    write_mouth_width(tmp_path, 75.0)
    assert features_scale_warning(73.0, tmp_path) is None
