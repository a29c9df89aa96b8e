"""Video decode/encode round trip and bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.video import read_video, video_info, write_video


def test_round_trip_keeps_frames_fps_and_audio(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.zeros((10, 47, 63, 3), np.uint8)  # odd sizes are padded to even
    frames[:, 10:30, 20:40] = rng.integers(100, 255, size=(10, 1, 1, 3), dtype=np.uint8)
    audio = np.sin(np.arange(8000) / 8000 * 2 * np.pi * 300).astype(np.float32)
    out = tmp_path / "clip.mp4"
    write_video(out, frames, 20.0, audio=audio, audio_fs=8000)
    info = video_info(out)
    assert info.has_audio and info.width == 64 and info.height == 48
    video = read_video(out)
    assert video.fps == pytest.approx(20.0)
    assert video.frames.shape == (10, 48, 64, 3)
    assert np.abs(video.frames[:, :47, :63].astype(int) - frames).mean() < 8
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_grey_decode_of_real_grid_clip(grid_dir):
    video = read_video(grid_dir / "bbaf2n.mpg", grey=True)
    assert video.frames.shape[1:] == (288, 360) and 74 <= len(video.frames) <= 75
    assert video.fps == pytest.approx(25.0)


@pytest.mark.parametrize("content", [b"", b"this is not a video" * 50])
def test_bad_files_give_one_line_errors(tmp_path, content):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(Lip2SpeechError) as err:
        read_video(bad)
    assert "bad.mp4" in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(Lip2SpeechError, match="not found"):
        read_video(tmp_path / "nope.mpg")
