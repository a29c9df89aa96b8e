"""Objective metrics: corr2 of spectrograms (as published), STOI/ESTOI, narrow-band PESQ, word accuracy.

Waveform metrics never crash on degenerate input (silence, clips under a quarter second): they
return NaN together with a one-line reason, so that one bad utterance cannot stop an evaluation.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

from ..audio.io import resample_exact
from ..errors import Lip2SpeechError
from .asr import recognise_grid, word_accuracy

__all__ = [
    "corr2", "stoi", "estoi", "stoi_detail", "pesq_nb", "pesq_nb_detail",
    "word_accuracy", "recognise_grid", "mean_ci",
]


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over all cells of two equal-shape arrays (MATLAB `corr2`); NaN if one is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise Lip2SpeechError(f"corr2 needs equal shapes, got {a.shape} and {b.shape}")
    da = a - a.mean()
    db = b - b.mean()
    denom = math.sqrt(float(np.sum(da * da)) * float(np.sum(db * db)))
    return float(np.sum(da * db) / denom) if denom > 0 else float("nan")


def _pair(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two mono signals as float64, trimmed to the shorter length (inversion may add a few samples)."""
    ref = np.asarray(ref, dtype=np.float64).ravel()
    deg = np.asarray(deg, dtype=np.float64).ravel()
    n = min(ref.size, deg.size)
    return ref[:n], deg[:n]


def stoi_detail(ref: np.ndarray, deg: np.ndarray, fs: int, extended: bool = False) -> tuple[float, str]:
    """(STOI or ESTOI of `deg` against `ref`, both at `fs` Hz; reason '' or why the value is NaN)."""
    from pystoi import stoi as _stoi

    ref, deg = _pair(ref, deg)
    if ref.size < 0.4 * fs:  # pystoi needs 30 frames of 25.6 ms of speech
        return float("nan"), f"signal too short for STOI ({ref.size / fs:.2f} s < 0.4 s)"
    if not np.any(ref):
        return float("nan"), "reference signal is silent"
    if not np.all(np.isfinite(deg)):
        return float("nan"), "degraded signal has NaN or infinite samples"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = float(_stoi(ref, deg, fs, extended=extended))
        except Exception as exc:  # noqa: BLE001 - pystoi raises bare Exceptions on degenerate input
            return float("nan"), f"STOI failed: {type(exc).__name__}: {exc}"
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return float("nan"), "too little speech in the reference for STOI (under 30 frames)"
    return value, ""


def stoi(ref: np.ndarray, deg: np.ndarray, fs: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), about 0..1; NaN on degenerate input."""
    return stoi_detail(ref, deg, fs, extended=False)[0]


def estoi(ref: np.ndarray, deg: np.ndarray, fs: int) -> float:
    """Extended STOI (Jensen & Taal 2016), about 0..1; NaN on degenerate input."""
    return stoi_detail(ref, deg, fs, extended=True)[0]


def pesq_nb_detail(ref: np.ndarray, deg: np.ndarray, fs: int) -> tuple[float, str]:
    """(narrow-band PESQ MOS-LQO of `deg` against `ref`, resampled to 8 kHz, -0.5..4.5; reason or '')."""
    from pesq import PesqError
    from pesq import pesq as _pesq

    ref, deg = _pair(ref, deg)
    ref, deg = resample_exact(ref, fs, 8000), resample_exact(deg, fs, 8000)
    if ref.size < 2000:
        return float("nan"), f"signal too short for PESQ ({ref.size / 8000:.2f} s < 0.25 s)"
    if not np.any(ref) or not np.any(deg):
        return float("nan"), "silent signal: PESQ detects no utterance"
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(deg))):
        return float("nan"), "signal has NaN or infinite samples"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(_pesq(8000, ref, deg, "nb")), ""
    except PesqError as exc:
        msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return float("nan"), f"PESQ failed: {type(exc).__name__}: {msg}"


def pesq_nb(ref: np.ndarray, deg: np.ndarray, fs: int) -> float:
    """Narrow-band PESQ (ITU-T P.862, 8 kHz) of `deg` against `ref`; NaN on degenerate input."""
    return pesq_nb_detail(ref, deg, fs)[0]


METRIC_RANGES: dict[str, tuple[float, float]] = {  # the values each metric can take (its interval is clipped)
    "corr2": (-1.0, 1.0), "corr2_ae": (-1.0, 1.0), "word_corr2": (-1.0, 1.0), "stoi": (-1.0, 1.0),
    "estoi": (-1.0, 1.0), "pesq": (-0.5, 4.5), "wacc": (0.0, 1.0), "wacc_orig": (0.0, 1.0), "wacc_lips": (0.0, 1.0)}


def mean_ci(values: Sequence[float], level: float = 0.95,
            bounds: tuple[float, float] | None = None) -> dict[str, float]:
    """Mean of the finite values and its Student-t confidence interval: {mean, ci_low, ci_high, std, n}; the
    interval clipped to `bounds` (the metric's range) when given."""
    from scipy.stats import t as student_t

    x = np.asarray([v for v in values if v is not None], dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "std": float("nan"), "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "ci_low": float("nan"), "ci_high": float("nan"), "std": float("nan"), "n": 1}
    std = float(x.std(ddof=1))
    half = float(student_t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": mean, "ci_low": low, "ci_high": high, "std": std, "n": n}


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """a - b paired item by item (pairs where both are finite): mean_ci of the differences plus wins, ties and
    losses of a (counts of items with a > b, a == b, a < b)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired values need equal lengths, got {x.shape} and {y.shape}")
    d = (x - y)[np.isfinite(x) & np.isfinite(y)]
    return {**mean_ci(d, level), "wins": int((d > 0).sum()), "ties": int((d == 0).sum()),
            "losses": int((d < 0).sum())}


def paired_text(d: dict[str, float], counts: bool = False) -> str:
    """A paired_difference as a table cell, '+0.012 [+0.003, +0.021]'; with `counts`, then ' (wins/ties/losses)'."""
    text = f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
    return f"{text} ({d['wins']}/{d['ties']}/{d['losses']})" if counts else text
