"""load_audio: WAV and video tracks, mono mix-down, resampling, normalisation, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from lip2speech.audio import load_audio
from lip2speech.audio.io import resample
from lip2speech.errors import Lip2SpeechError


def test_wav_stereo_16k_becomes_normalised_mono_8k(tmp_path):
    fs = 16000
    t = np.arange(fs) / fs
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1
    right = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1
    sf.write(tmp_path / "a.wav", np.stack([left, right], 1), fs)
    x = load_audio(tmp_path / "a.wav", fs=8000)
    assert x.ndim == 1 and len(x) == 8000
    assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
    ref = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    assert np.corrcoef(x[100:-100], ref[100:-100])[0, 1] > 0.999


def test_resampling_removes_content_above_new_nyquist():
    fs = 16000
    t = np.arange(fs) / fs
    y = resample(np.sin(2 * np.pi * 6000 * t), fs, 8000)  # 6 kHz would alias to 2 kHz without the filter
    assert len(y) == 8000 and np.std(y[200:-200]) < 1e-3


def test_video_track_matches_nsl_input(grid_dir, nsl_dir):
    x = load_audio(grid_dir / "bbaf2n.mpg")
    ref = np.load(nsl_dir / "bbaf2n.npz")["x"]
    assert abs(len(x) - len(ref)) <= 8
    n = min(len(x), len(ref))
    assert np.corrcoef(x[:n], ref[:n])[0, 1] > 0.999


def test_bad_files(tmp_path):
    with pytest.raises(Lip2SpeechError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(Lip2SpeechError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF junk" * 10)
    with pytest.raises(Lip2SpeechError, match="junk.wav"):
        load_audio(tmp_path / "junk.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(800), 8000)
    with pytest.raises(Lip2SpeechError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    nan = np.ones(800, dtype=np.float32)
    nan[10] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 8000, subtype="FLOAT")
    with pytest.raises(Lip2SpeechError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
