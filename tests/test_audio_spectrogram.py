"""Auditory spectrogram: exact NSL reproduction, own filterbank, overlap-save blocks, rates, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from lip2speech.audio import auditory_spectrogram, centre_frequencies, lip2speech_filters, load_nsl_filters
from lip2speech.errors import Lip2SpeechError


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def reference_wav2aud(x: np.ndarray, bank, frame: int = 64, alpha: float = np.exp(-1 / 64)) -> np.ndarray:
    """Direct transcription of NSL wav2aud (linear hair cell): time-domain IIR filters, channel by channel."""
    n_frames = int(np.ceil(len(x) / frame))
    x = np.concatenate([x, np.zeros(n_frames * frame - len(x))])
    y2_h = lfilter(bank.b[-1], bank.a[-1], x)
    out = np.zeros((n_frames, 128))
    for ch in range(127, -1, -1):
        y2 = lfilter(bank.b[ch], bank.a[ch], x)
        y4 = np.maximum(y2 - y2_h, 0)
        y2_h = y2
        out[:, ch] = lfilter([1], [1, -alpha], y4)[frame - 1 :: frame]
    return out


@pytest.fixture(scope="module")
def nsl_bank(nsl_dir):
    return load_nsl_filters(nsl_dir / "aud24.mat")


@pytest.fixture(scope="module")
def nsl_clips(nsl_dir):
    clips = sorted(nsl_dir.glob("*.npz"))
    assert len(clips) == 6
    return [(p.stem, np.load(p)) for p in clips]


def test_matches_nsl_exactly_with_the_nsl_table(nsl_bank, nsl_clips):
    for name, ref in nsl_clips:
        aud = auditory_spectrogram(ref["x"], 8000, filters=nsl_bank)
        assert aud.shape == ref["aud"].shape and aud.dtype == np.float32, name
        rel = np.linalg.norm(aud - ref["aud"]) / np.linalg.norm(ref["aud"])
        assert corr2(aud, ref["aud"]) >= 0.999, name
        assert rel < 0.01, (name, rel)


def test_own_filterbank_close_to_nsl(nsl_clips):
    scores = [corr2(auditory_spectrogram(ref["x"]), ref["aud"]) for _, ref in nsl_clips]
    assert min(scores) >= 0.99, scores  # required >= 0.90; the design reaches 0.9988


def test_own_filterbank_is_asymmetric_constant_q():
    bank = lip2speech_filters()
    assert len(bank) == 129
    assert all(np.max(np.abs(np.roots(a))) < 1 for a in bank.a)  # stable
    H = np.abs(bank.response(1 << 15))
    f = np.fft.rfftfreq(1 << 15, 1 / 16000)
    cf = centre_frequencies(16000, 129)
    for ch in (20, 60, 100):
        peak = f[np.argmax(H[ch])]
        assert abs(np.log2(peak / cf[ch])) < 0.05
        gain = lambda octaves: H[ch][np.argmin(np.abs(f - cf[ch] * 2**octaves))] / H[ch].max()
        assert gain(-0.25) > 5 * gain(0.25)  # gradual low side, steep high side


def test_overlap_save_blocks_match_direct_filtering():
    # 5 s is longer than one FFT block: block boundaries must not show
    rng = np.random.default_rng(1)
    x = rng.standard_normal(40000) * np.repeat(rng.uniform(0.2, 2, 40), 1000)
    bank = lip2speech_filters()
    ref = reference_wav2aud(x, bank)
    aud = auditory_spectrogram(x, 8000)
    assert aud.shape == (625, 128)
    assert np.linalg.norm(aud - ref) / np.linalg.norm(ref) < 1e-4


def test_frames_and_rates():
    rng = np.random.default_rng(2)
    x8 = rng.standard_normal(8001)
    assert auditory_spectrogram(x8[:8000], 8000).shape == (125, 128)
    assert auditory_spectrogram(x8, 8000).shape == (126, 128)
    # 16 kHz (octave shift 0): same frame rate, channels one octave higher; 11025 Hz is resampled to 8 kHz
    for fs, model_fs in ((8000, 8000), (16000, 16000), (11025, 8000)):
        t = np.arange(int(fs)) / fs
        aud = auditory_spectrogram(np.sin(2 * np.pi * 1000 * t), fs)
        assert aud.shape[0] == 125
        cf = centre_frequencies(model_fs)
        assert abs(np.log2(cf[np.argmax(aud[50:].mean(0))] / 1000)) < 0.1, fs


def test_nonlinear_hair_cell_runs_and_differs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(4000)
    lin = auditory_spectrogram(x)
    sig = auditory_spectrogram(x, factor=0.1)
    assert np.all(np.isfinite(sig)) and sig.shape == lin.shape
    assert corr2(lin, sig) < 0.999


def test_stereo_is_mixed_down():
    rng = np.random.default_rng(4)
    st = rng.standard_normal((4000, 2))
    mono = st.mean(axis=1)
    np.testing.assert_allclose(auditory_spectrogram(st), auditory_spectrogram(mono), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(auditory_spectrogram(st.T), auditory_spectrogram(mono), rtol=1e-5, atol=1e-6)


def test_silence_gives_zeros_not_nan():
    aud = auditory_spectrogram(np.zeros(1000))
    assert aud.shape == (16, 128) and np.all(aud == 0)


@pytest.mark.parametrize(
    "x, fs, match",
    [
        (np.zeros(0), 8000, "empty"),
        (np.array([0.0, np.nan, 1.0] * 100), 8000, "NaN"),
        (np.zeros((2, 3, 100)), 8000, "1-D"),
        (np.ones(100), -8000, "sample rate"),
        (np.ones(100), 500, "range"),
    ],
)
def test_bad_input_raises_clear_errors(x, fs, match):
    with pytest.raises(Lip2SpeechError, match=match):
        auditory_spectrogram(x, fs)


def test_bad_nsl_table(tmp_path):
    with pytest.raises(Lip2SpeechError, match="not found"):
        load_nsl_filters(tmp_path / "missing.mat")
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(Lip2SpeechError, match="MATLAB"):
        load_nsl_filters(bad)
    import scipy.io

    scipy.io.savemat(tmp_path / "wrong.mat", {"COCHBA": np.ones((26, 10))})
    with pytest.raises(Lip2SpeechError, match="129"):
        load_nsl_filters(tmp_path / "wrong.mat")
