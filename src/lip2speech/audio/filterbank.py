"""Cochlear filterbanks: lip2speech's own asymmetric constant-Q design, or the NSL toolbox table (aud24.mat)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.fft

from ..errors import Lip2SpeechError

N_CHANNELS = 128  # output channels; the bank holds one more (the highest), used only as the first neighbour
DESIGN_FS = 16000.0  # the filters are digital filters designed for 16 kHz; other rates shift them by octaves

# Analog prototype of one cochlear filter, frequencies in units of the channel's centre frequency (CF).
# Three resonant pole pairs (broad -> sharp) give the gradual low side; two zero pairs just above CF
# (one nearly on the jw axis) give the steep high-side notch; a right-half-plane real zero shapes the phase.
# The numbers were chosen by least squares on the shape (magnitude and phase around CF) of the NSL
# cochlear filters; the filters themselves are designed here, not copied.
_POLE_W = (0.8014, 0.9723, 1.0106)
_POLE_ZETA = (0.2170, 0.0664, 0.0243)
_ZERO_W = (1.0449, 1.1245)
_ZERO_ZETA = (0.0204, 0.2313)
_REAL_ZERO = 0.6813


@dataclass(frozen=True, eq=False)
class Filterbank:
    """129 IIR filters (b, a) at 16 kHz design rate, lowest channel first; the last is the extra highest channel."""

    b: tuple[np.ndarray, ...]
    a: tuple[np.ndarray, ...]
    name: str
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.b)

    def response(self, n_fft: int) -> np.ndarray:
        """Complex frequency responses (129, n_fft//2+1) complex64 on the rfft grid (cached per n_fft)."""
        if n_fft not in self._cache:
            self._cache[n_fft] = _responses(self.b, self.a, n_fft)
        return self._cache[n_fft]


def _responses(bs: tuple[np.ndarray, ...], as_: tuple[np.ndarray, ...], n_fft: int) -> np.ndarray:
    # B(e^jw)/A(e^jw) on the rfft grid as matrix products of the coefficients with the powers e^{-jwk}, k < order
    # (the same values as zero-padded FFTs of the coefficients, which cost ~4 s for a 20 s signal); in blocks of
    # frequencies so that no (129, n_fft) complex128 temporaries are made.
    order = max(len(b) for b in bs + as_)
    B = np.zeros((len(bs), order))
    A = np.zeros((len(bs), order))
    for i, (b, a) in enumerate(zip(bs, as_)):
        B[i, : len(b)] = b
        A[i, : len(a)] = a
    n_freq = n_fft // 2 + 1
    out = np.empty((len(bs), n_freq), dtype=np.complex64)
    k = np.arange(order)
    for lo in range(0, n_freq, 8192):
        w = 2 * np.pi * np.arange(lo, min(lo + 8192, n_freq)) / n_fft
        powers = np.exp(-1j * np.outer(k, w))
        out[:, lo : lo + w.size] = (B @ powers) / (A @ powers)
    return out


def centre_frequencies(fs: float = 8000.0, n: int = N_CHANNELS) -> np.ndarray:
    """Centre frequencies (Hz) of the channels at sample rate fs: 440 * 2^((k-31)/24) * fs/16 kHz, k = 1..n."""
    return 440.0 * 2.0 ** ((np.arange(1, n + 1) - 31) / 24.0) * fs / DESIGN_FS


def _prototype_roots() -> tuple[np.ndarray, np.ndarray]:
    poles = [np.roots([1.0, 2 * z * w, w * w]) for w, z in zip(_POLE_W, _POLE_ZETA)]
    zeros = [np.roots([1.0, 2 * z * w, w * w]) for w, z in zip(_ZERO_W, _ZERO_ZETA)]
    return np.concatenate(poles), np.concatenate(zeros + [np.array([_REAL_ZERO])])


@lru_cache(maxsize=1)
def lip2speech_filters() -> Filterbank:
    """lip2speech's own 129-channel cochlear bank: the analog prototype at each NSL CF, matched-z, unit peak gain."""
    s_poles, s_zeros = _prototype_roots()
    cfs = centre_frequencies(DESIGN_FS, N_CHANNELS + 1)
    grid = np.exp(1j * np.linspace(0.0, np.pi, 4097))
    bs, as_ = [], []
    for cf in cfs:
        scale = 2 * np.pi * cf / DESIGN_FS  # matched z-transform: z = exp(s * 2 pi CF / fs)
        a = np.real(np.poly(np.exp(s_poles * scale)))
        b = np.real(np.poly(np.exp(s_zeros * scale)))
        peak = np.max(np.abs(np.polyval(b, grid) / np.polyval(a, grid)))
        bs.append(b / peak)
        as_.append(a)
    return Filterbank(tuple(bs), tuple(as_), "lip2speech")


def load_nsl_filters(path: str | Path) -> Filterbank:
    """Load the NSL toolbox cochlear table COCHBA (26x129 complex) from aud24.mat for exact reproduction."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("NSL filter table not found", path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - loadmat raises many types on bad files
        raise Lip2SpeechError(f"not a readable MATLAB file ({type(exc).__name__}: {exc})", path) from None
    table = mat.get("COCHBA")
    if table is None or table.ndim != 2 or table.shape[1] != N_CHANNELS + 1 or not np.iscomplexobj(table):
        shape = None if table is None else table.shape
        raise Lip2SpeechError(f"expected a complex COCHBA table with 129 columns, got {shape}", path)
    bs, as_ = [], []
    for ch in range(table.shape[1]):
        p = int(round(table[0, ch].real))  # filter order; imag of row 0 is a channel gain (unused by wav2aud)
        if p < 1 or p + 2 > table.shape[0]:
            raise Lip2SpeechError(f"channel {ch + 1} has an invalid filter order {p}", path)
        bs.append(np.ascontiguousarray(table[1 : p + 2, ch].real))
        as_.append(np.ascontiguousarray(table[1 : p + 2, ch].imag))
    return Filterbank(tuple(bs), tuple(as_), f"nsl:{path.name}")
