"""The early auditory model (NSL wav2aud): cochlear filterbank, hair cell, lateral inhibition, leaky integration."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from ..errors import Lip2SpeechError
from .filterbank import DESIGN_FS, N_CHANNELS, Filterbank, lip2speech_filters
from .io import resample

N_FFT = 32768  # FFT size of one overlap-save block
HISTORY = 8192  # past samples given to each block: the cochlear impulse responses decay below 1e-6 within it
CHUNK = 16  # channels filtered per FFT batch
HAIRCELL_TC_MS = 0.5  # hair-cell membrane low-pass time constant (used only when the hair cell is nonlinear)


def octave_rate(fs: float) -> float:
    """The sample rate the model runs at: fs itself when it is 16 kHz * 2^k, else the nearest such rate."""
    if fs <= 0 or not math.isfinite(fs):
        raise Lip2SpeechError(f"sample rate must be a positive number of Hz, got {fs}")
    shift = round(math.log2(fs / DESIGN_FS))
    if not -4 <= shift <= 2:
        raise Lip2SpeechError(f"sample rate {fs:g} Hz is outside the supported 1-64 kHz range")
    return DESIGN_FS * 2.0**shift


def frame_weights(frame: int, alpha: float) -> np.ndarray:
    """Weights (frame,) float32 that sum a frame's samples into the leaky integrator's state at the frame's end
    (alpha^(frame-1) .. 1), or average them (alpha = 0)."""
    if alpha:
        return (alpha ** np.arange(frame - 1, -1, -1)).astype(np.float32)
    return np.full(frame, 1.0 / frame, np.float32)


def frame_recursion(x: np.ndarray, decay: float, reverse: bool = False) -> np.ndarray:
    """y[:, n] = x[:, n] + decay * y[:, n - 1] along axis 1 (n + 1 if reverse), float64: a one-pole filter over
    frames, looped in numpy (a few hundred frames) so that speak need not import scipy.signal (~2 s)."""
    y = np.array(x, dtype=np.float64)
    cols = range(y.shape[1] - 2, -1, -1) if reverse else range(1, y.shape[1])
    step = 1 if reverse else -1
    for n in cols:
        y[:, n] += decay * y[:, n + step]
    return y


def leaky_integrate(sums: np.ndarray, alpha: float, frame: int) -> np.ndarray:
    """Carry the leaky integrator across frames: sums (channels, N) of frame_weights -> its state at every frame
    end (the decay over one frame is alpha^frame); alpha = 0 leaves the frame averages."""
    return frame_recursion(sums, alpha**frame) if alpha else sums


def frame_params(fs: float, frame_ms: float, time_constant_ms: float) -> tuple[int, float]:
    """Frame length in samples and the leaky integrator's decay per sample (0 = plain frame average)."""
    if frame_ms <= 0 or time_constant_ms < 0:
        raise Lip2SpeechError(f"frame_ms must be > 0 and time_constant_ms >= 0, got {frame_ms}, {time_constant_ms}")
    frame = int(round(frame_ms * fs / 1000.0))
    if frame < 1:
        raise Lip2SpeechError(f"frame of {frame_ms} ms is shorter than one sample at {fs:g} Hz")
    alpha = math.exp(-1.0 / (time_constant_ms * fs / 1000.0)) if time_constant_ms > 0 else 0.0
    return frame, alpha


def as_mono(x: np.ndarray, what: str = "signal") -> np.ndarray:
    """A finite, non-empty 1-D float64 signal; 2-D input (samples x channels or channels x samples) is averaged."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise Lip2SpeechError(f"{what} must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.ndim == 2:  # multichannel: mix down over the shorter axis (the channels)
        x = x.mean(axis=int(np.argmin(x.shape)))
    if x.ndim != 1:
        raise Lip2SpeechError(f"{what} must be 1-D (mono) or 2-D (multichannel), got shape {x.shape}")
    if x.size == 0:
        raise Lip2SpeechError(f"{what} is empty (0 samples)")
    if not np.all(np.isfinite(x)):
        raise Lip2SpeechError(f"{what} contains NaN or infinite samples")
    return x


def haircell(y: np.ndarray, factor: float) -> np.ndarray:
    """Hair-cell compression: sigmoid (factor > 0), hard limiter (0), half-wave rectifier (-1), linear (-2)."""
    if factor > 0:
        return 0.5 * (1.0 + np.tanh(y / (2.0 * factor)))  # = 1/(1+exp(-y/factor)), without overflow
    if factor == 0:
        return (y > 0).astype(y.dtype)
    if factor == -1:
        return np.maximum(y, 0)
    if factor == -2:
        return y
    raise Lip2SpeechError(f"nonlinear factor must be > 0, 0, -1 or -2, got {factor}")


def fft_size(n: int) -> int:
    """The smallest FFT length >= n (and >= 4096) of the form 2^k x (1, 5/4, 3/2 or 7/4): fast in pocketfft,
    under 25% padding where a power of two wastes up to half, and few enough distinct lengths that the
    filterbank's cached responses are reused across clips of similar length."""
    k = max(12, math.ceil(math.log2(max(n, 1))))
    return min(m for m in (1 << k, 5 << (k - 3), 3 << (k - 2), 7 << (k - 3)) if m >= max(n, 4096))


def _block_plan(n: int) -> tuple[int, int]:
    """FFT size and block length (samples) for a padded signal of n samples."""
    if n + HISTORY <= N_FFT:
        return fft_size(n + HISTORY), n
    return N_FFT, N_FFT - HISTORY


def frame_sums(
    x: np.ndarray, bank: Filterbank, frame: int, alpha: float, factor: float = -2, fs: float = 8000.0
) -> np.ndarray:
    """Per-frame weighted sums (128, N) of the rectified lateral-inhibition outputs of x (padded to N frames)."""
    n_frames = math.ceil(len(x) / frame)
    n = n_frames * frame
    n_fft, block = _block_plan(n)
    block -= block % frame
    hist = n_fft - block
    xp = np.zeros(hist + n_frames * frame + block, dtype=np.float32)
    xp[hist : hist + len(x)] = x
    weights = frame_weights(frame, alpha)
    H = bank.response(n_fft)
    beta = math.exp(-1.0 / (HAIRCELL_TC_MS * fs / 1000.0))
    zi = np.zeros((len(bank), 1))
    out = np.empty((N_CHANNELS, n_frames), dtype=np.float32)
    for start in range(0, n, block):
        X = scipy.fft.rfft(xp[start : start + n_fft])
        f0, k = start // frame, min(block, n - start) // frame
        prev = None
        for c0 in range(0, len(bank), CHUNK):  # a few channels at a time: stays in cache, ~3x faster
            c1 = min(c0 + CHUNK, len(bank))
            y = haircell(scipy.fft.irfft(X[None, :] * H[c0:c1], n_fft, axis=1)[:, hist:], factor)
            if factor != -2:  # hair-cell membrane low-pass, state carried across blocks
                from scipy.signal import lfilter

                y, zi[c0:c1] = lfilter([1.0], [1.0, -beta], y, axis=1, zi=zi[c0:c1])
                y = y.astype(np.float32)
            if prev is not None:
                y = np.concatenate([prev, y])
            d = y[:-1] - y[1:]  # lateral inhibition: each channel minus its higher neighbour
            np.maximum(d, 0, out=d)  # half-wave rectification
            lo = c0 - 1 if prev is not None else c0
            out[lo : c1 - 1, f0 : f0 + k] = d[:, : k * frame].reshape(-1, k, frame) @ weights
            prev = y[-1:]
    return out


def auditory_spectrogram(
    x: np.ndarray,
    fs: float = 8000,
    frame_ms: float = 8,
    time_constant_ms: float = 8,
    factor: float = -2,
    filters: Filterbank | None = None,
) -> np.ndarray:
    """Auditory spectrogram (N, 128) float32 of signal x at fs Hz: N = ceil(len / frame) frames, 125 frames/s at 8 ms.

    x is used as given (the NSL convention is zero mean, unit variance: see load_audio); stereo is mixed
    down; a rate that is not 16 kHz * 2^k is resampled to the nearest such rate. filters=None uses
    lip2speech's own cochlear bank; pass load_nsl_filters("aud24.mat") to reproduce NSL wav2aud exactly.
    """
    x = as_mono(x)
    run_fs = octave_rate(fs)
    if run_fs != fs:
        x = resample(x, fs, run_fs)
    bank = lip2speech_filters() if filters is None else filters
    frame, alpha = frame_params(run_fs, frame_ms, time_constant_ms)
    haircell(np.zeros(1), factor)  # validate factor early
    sums = leaky_integrate(frame_sums(x, bank, frame, alpha, factor, run_fs), alpha, frame)
    return np.ascontiguousarray(sums.T, dtype=np.float32)
