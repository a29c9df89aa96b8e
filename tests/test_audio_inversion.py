"""Inversion of the auditory spectrogram: shapes, determinism, bad input, and quality on the NSL clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lip2speech.audio import auditory_spectrogram, invert_auditory_spectrogram, load_nsl_filters
from lip2speech.errors import Lip2SpeechError


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def short_target():
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 8000
    x = np.sin(2 * np.pi * (300 + 400 * t) * t) * np.hanning(4000) + 0.05 * rng.standard_normal(4000)
    x = (x - x.mean()) / x.std()
    return x, auditory_spectrogram(x)


@pytest.mark.parametrize("method", ["lbfgs", "cg", "nsl"])
def test_inversion_reproduces_a_short_signal(short_target, method):
    x, aud = short_target
    y = invert_auditory_spectrogram(aud, n_iter=10, method=method)
    assert y.dtype == np.float32 and y.shape == (aud.shape[0] * 64,)
    assert np.all(np.isfinite(y))
    assert corr2(auditory_spectrogram(y), aud) > 0.9


def test_gradient_method_beats_projection_at_equal_iterations(short_target):
    _, aud = short_target
    score = {m: corr2(auditory_spectrogram(invert_auditory_spectrogram(aud, n_iter=8, method=m)), aud)
             for m in ("lbfgs", "nsl")}
    assert score["lbfgs"] > score["nsl"]


def test_conjugate_gradients_fit_better_than_lbfgs_at_equal_iterations(short_target):
    """The exact line search makes each cg iteration count: at 2 iterations (speak's default) it fits closer."""
    from lip2speech.audio.model import AuditoryModel

    _, aud = short_target
    err = {}
    for m in ("lbfgs", "cg"):
        AuditoryModel.passes = 0
        y = invert_auditory_spectrogram(aud, n_iter=2, method=m)
        a = auditory_spectrogram(y)
        err[m] = (float(np.sum((a * np.sum(a * aud) / np.sum(a * a) - aud) ** 2) / np.sum(aud**2)), AuditoryModel.passes)
    assert err["cg"][0] < err["lbfgs"][0]
    assert err["cg"][1] < err["lbfgs"][1]  # and with fewer filterbank passes


def test_cg_never_raises_the_error(short_target):
    _, aud = short_target
    errs = []
    for n in (0, 1, 2, 4):
        a = auditory_spectrogram(invert_auditory_spectrogram(aud, n_iter=n, method="cg"))
        errs.append(float(np.sum((a * np.sum(a * aud) / np.sum(a * a) - aud) ** 2)))
    assert all(e1 <= e0 * 1.001 for e0, e1 in zip(errs, errs[1:])), errs
    assert errs[-1] < 0.5 * errs[0]


def test_deterministic_given_seed(short_target):
    _, aud = short_target
    a = invert_auditory_spectrogram(aud, n_iter=3, seed=5)
    b = invert_auditory_spectrogram(aud, n_iter=3, seed=5)
    c = invert_auditory_spectrogram(aud, n_iter=3, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_and_negative_spectrograms():
    y = invert_auditory_spectrogram(np.zeros((10, 128)))
    assert y.shape == (640,) and np.all(y == 0)
    y = invert_auditory_spectrogram(-np.ones((10, 128)))  # negatives are clipped to 0: silence
    assert np.all(y == 0)


@pytest.mark.parametrize(
    "aud, kwargs, match",
    [
        (np.ones((10, 64)), {}, "shape"),
        (np.ones(128), {}, "shape"),
        (np.ones((0, 128)), {}, "shape"),
        (np.full((10, 128), np.nan), {}, "NaN"),
        (np.ones((10, 128)), {"fs": 11025}, "16 kHz"),
        (np.ones((10, 128)), {"method": "magic"}, "method"),
        (np.ones((10, 128)), {"n_iter": -1}, "n_iter"),
        (np.ones((10, 128)), {"init": "chirp"}, "harmonic"),
        (np.ones((10, 128)), {"init": "harmonic", "f0": 0.0}, "f0"),
        (np.ones((10, 128)), {"init": "harmonic", "f0": 9000.0}, "harmonic"),
    ],
)
def test_bad_spectrograms(aud, kwargs, match):
    with pytest.raises(Lip2SpeechError, match=match):
        invert_auditory_spectrogram(aud, **kwargs)


@pytest.mark.slow
def test_quality_on_nsl_clips(nsl_dir):
    from pystoi import stoi

    bank = load_nsl_filters(nsl_dir / "aud24.mat")
    reference = json.loads((nsl_dir / "reference_metrics.json").read_text())
    corrs, stois, ref_stois = [], [], []
    for path in sorted(nsl_dir.glob("*.npz")):
        clip = np.load(path)
        y = invert_auditory_spectrogram(clip["aud"])  # defaults: own filterbank, lbfgs
        n = min(len(y), len(clip["x"]))
        corrs.append(corr2(auditory_spectrogram(y, filters=bank), clip["aud"]))
        stois.append(stoi(clip["x"][:n], y[:n], 8000))
        ref_stois.append(reference[path.stem]["stoi_aud2wav30"])
    assert len(corrs) == 6
    assert min(corrs) >= 0.97, corrs
    assert np.mean(stois) >= np.mean(ref_stois), (np.mean(stois), np.mean(ref_stois))


def test_scale_free(short_target):
    _, aud = short_target
    ref = invert_auditory_spectrogram(aud, n_iter=5)
    for k in (1e-6, 1e6):
        y = invert_auditory_spectrogram(aud * k, n_iter=5)
        assert np.all(np.isfinite(y))
        np.testing.assert_allclose(y / k, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


def _band_envelope(x: np.ndarray, fs: int, lo: float, hi: float, frame: int) -> np.ndarray:
    """Per-frame energy of x between lo and hi Hz (Hann-windowed frames, half overlap)."""
    win = np.hanning(frame)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[:: frame // 2] * win
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    f = np.fft.rfftfreq(frame, 1 / fs)
    return spec[:, (f >= lo) & (f < hi)].sum(axis=1)


def test_harmonic_start_is_a_steady_voice():
    from lip2speech.audio.inversion import harmonic_start, sine_start

    flat = np.ones((100, 128))  # a smooth, stationary spectrogram: what a model predicts at its blurriest
    x = harmonic_start(flat, 128, 16000, f0=80.0)
    period = 200  # samples of 1/80 s at 16 kHz
    assert x.shape == (12800,) and abs(x.std() - 1) < 1e-9
    assert np.allclose(x[1000:-1000], x[1000 + period:-1000 + period], atol=1e-6)  # periodic at f0
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / 16000)
    assert spec[np.isclose(f % 80.0, 0) | np.isclose(f % 80.0, 80.0)].sum() > 0.999 * spec.sum()  # harmonics only
    # band envelopes (1/3 octave, 25 ms frames, about as STOI sees them) fluctuate far less than the channel
    # sinusoids' beats do
    s = sine_start(flat, 128, 16000)
    for lo in (400.0, 1000.0, 2500.0):
        hi = lo * 2 ** (1 / 3)
        e_h, e_s = (_band_envelope(v[1000:-1000], 16000, lo, hi, 400) for v in (x, s))
        assert e_h.std() / e_h.mean() < 0.3 * (e_s.std() / e_s.mean())


def test_harmonic_start_follows_the_spectrogram_and_inverts():
    from lip2speech.audio.inversion import harmonic_start

    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    x = np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.3 * rng.standard_normal(t.size)
    aud = auditory_spectrogram(x, fs=16000)
    x0 = harmonic_start(aud, 128, 16000)
    assert corr2(auditory_spectrogram(x0, fs=16000), aud) > 0.6
    y = invert_auditory_spectrogram(aud, fs=16000, n_iter=1, method="cg", init="harmonic")
    assert np.all(np.isfinite(y)) and corr2(auditory_spectrogram(y, fs=16000), aud) > corr2(
        auditory_spectrogram(x0, fs=16000), aud)


def test_long_spectrograms_are_inverted_in_cross_faded_pieces(monkeypatch):
    import lip2speech.audio.inversion as inv

    rng = np.random.default_rng(2)
    t = np.arange(1300 * 64) / 8000
    x = np.sin(2 * np.pi * (300 + 80 * np.sin(2 * np.pi * 0.3 * t)) * t) * (1.2 + np.sin(2 * np.pi * 2 * t))
    x = x + 0.05 * rng.standard_normal(t.size)
    aud = auditory_spectrogram(x)
    pieces = invert_auditory_spectrogram(aud, n_iter=2, method="cg", init="harmonic")
    assert pieces.shape == (aud.shape[0] * 64,) and np.all(np.isfinite(pieces))
    monkeypatch.setattr(inv, "PIECE_FRAMES", 10_000)  # the same inversion in one piece
    whole = invert_auditory_spectrogram(aud, n_iter=2, method="cg", init="harmonic")
    fit = {k: auditory_spectrogram(y) for k, y in (("pieces", pieces), ("whole", whole))}
    assert corr2(fit["pieces"], aud) > corr2(fit["whole"], aud) - 0.01
    # no seam: the spectrogram error around the joins (frames 480-512, 960-992) is that of the rest
    err = np.abs(fit["pieces"] - aud).mean(axis=1)
    seams = np.r_[470:525, 950:1005]
    assert err[seams].mean() < 1.5 * np.delete(err, seams).mean()
