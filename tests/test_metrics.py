"""Metrics against independent computations: numpy.corrcoef, the reference STOI values, scipy's t interval."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from lip2speech.errors import Lip2SpeechError
from lip2speech.evaluation.metrics import corr2, estoi, mean_ci, pesq_nb, pesq_nb_detail, stoi, stoi_detail, word_accuracy

FS = 8000


def _speechlike(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Harmonic tone complex with a syllable-rate (4 Hz) on/off envelope and a gliding pitch, 8 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / FS
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 20))
    env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    return x * env


def test_corr2_equals_numpy_corrcoef_of_flattened_arrays():
    rng = np.random.default_rng(1)
    a = rng.random((375, 128))
    b = 0.5 * a + rng.random((375, 128))
    expected = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert corr2(a, b) == pytest.approx(expected, abs=1e-12)
    assert corr2(a, a) == pytest.approx(1.0)
    assert corr2(a, -3 * a + 2) == pytest.approx(-1.0)
    assert np.isnan(corr2(a, np.ones_like(a)))
    with pytest.raises(Lip2SpeechError, match="equal shapes"):
        corr2(a, b[:-1])


def test_stoi_is_one_for_identical_signals_and_falls_with_noise():
    x = _speechlike()
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(x.size) * x.std()
    assert stoi(x, x, FS) == pytest.approx(1.0, abs=1e-6)
    assert estoi(x, x, FS) == pytest.approx(1.0, abs=1e-6)
    mild, heavy = stoi(x, x + 0.3 * noise, FS), stoi(x, x + 3 * noise, FS)
    assert 1.0 > mild > heavy
    assert estoi(x, x + 0.3 * noise, FS) > estoi(x, x + 3 * noise, FS)


def test_stoi_matches_the_reference_values_for_nsl_inversions(nsl_dir):
    reference = json.loads((nsl_dir / "reference_metrics.json").read_text())
    for clip, ref in reference.items():
        data = np.load(nsl_dir / f"{clip}.npz")
        x, y = data["x"], data["aud2wav30"]  # lengths differ by a few samples: trimmed inside
        assert stoi(x, y, FS) == pytest.approx(ref["stoi_aud2wav30"], abs=2e-3)
        assert estoi(x, y, FS) == pytest.approx(ref["estoi_aud2wav30"], abs=2e-3)


def test_pesq_in_range_highest_for_identity_and_falls_with_noise():
    x = _speechlike(3.0)
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(x.size) * x.std()
    same, mild, heavy = pesq_nb(x, x, FS), pesq_nb(x, x + 0.1 * noise, FS), pesq_nb(x, x + 2 * noise, FS)
    for v in (same, mild, heavy):
        assert -0.5 <= v <= 4.65
    assert same > 4.0
    assert same > mild > heavy
    # other sampling rates are resampled to 8 kHz first: 16 kHz input gives a close score
    from scipy.signal import resample_poly

    assert pesq_nb(resample_poly(x, 2, 1), resample_poly(x + 0.1 * noise, 2, 1), 16000) == pytest.approx(mild, abs=0.3)


def test_degenerate_signals_give_nan_with_a_reason_not_an_exception():
    x = _speechlike()
    value, reason = pesq_nb_detail(np.zeros(FS * 3), np.zeros(FS * 3), FS)
    assert np.isnan(value) and "silent" in reason
    value, reason = pesq_nb_detail(x[:1000], x[:1000], FS)
    assert np.isnan(value) and "too short" in reason
    value, reason = stoi_detail(x[:1000], x[:1000], FS)
    assert np.isnan(value) and "too short" in reason
    value, reason = stoi_detail(np.zeros(FS * 3), x[: FS * 2], FS)
    assert np.isnan(value) and reason
    value, reason = stoi_detail(x, x, FS)
    assert value == pytest.approx(1.0, abs=1e-6) and reason == ""
    assert np.isnan(stoi(x, np.full_like(x, np.nan), FS))


def test_mean_ci_matches_scipy_t_interval_and_skips_nan():
    values = [0.61, 0.72, 0.55, 0.80, 0.67, float("nan")]
    finite = np.array(values[:-1])
    summary = mean_ci(values)
    lo, hi = stats.t.interval(0.95, len(finite) - 1, loc=finite.mean(), scale=stats.sem(finite))
    assert summary["n"] == 5
    assert summary["mean"] == pytest.approx(finite.mean())
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx((lo, hi))
    assert mean_ci([])["n"] == 0 and np.isnan(mean_ci([])["mean"])


def test_word_accuracy_is_reexported():
    assert word_accuracy("a b c".split(), "a x c".split()) == pytest.approx(2 / 3)


def test_paired_difference_counts_wins_and_pairs_only_finite_items():
    from lip2speech.evaluation.metrics import paired_difference

    a = [0.5, 1.0, 0.5, 0.25, float("nan")]
    b = [0.25, 1.0, 0.75, 0.0, 0.5]
    d = paired_difference(a, b)
    assert (d["wins"], d["ties"], d["losses"], d["n"]) == (2, 1, 1, 4)
    assert d["mean"] == pytest.approx(np.mean([0.25, 0.0, -0.25, 0.25]))
    assert d == {**mean_ci([0.25, 0.0, -0.25, 0.25]), "wins": 2, "ties": 1, "losses": 1}
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0], [1.0, 2.0])
    from lip2speech.evaluation.metrics import paired_text

    cell = {"mean": 0.0625, "ci_low": -0.125, "ci_high": 0.25, "wins": 2, "ties": 1, "losses": 1}
    assert paired_text(cell) == "+0.062 [-0.125, +0.250]"
    assert paired_text(cell, counts=True) == "+0.062 [-0.125, +0.250] (2/1/1)"
