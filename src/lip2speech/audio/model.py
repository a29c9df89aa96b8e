"""The linear-plus-rectifier auditory model on a fixed-length signal, with its exact adjoint (for inversion)."""

from __future__ import annotations

import numpy as np
import scipy.fft

from .filterbank import N_CHANNELS, Filterbank
from .spectrogram import CHUNK, HISTORY, fft_size, frame_recursion, frame_weights, leaky_integrate


class AuditoryModel:
    """wav2aud with the linear hair cell for signals of exactly n_frames * frame samples, run in one FFT block.

    lateral() returns what backward passes need: the lateral-inhibition outputs y3 (128, n).
    `passes` counts filterbank passes (one per lateral() or channel_adjoint()), a load-independent cost measure.
    """

    passes = 0

    def __init__(self, bank: Filterbank, n_frames: int, frame: int, alpha: float) -> None:
        self.n_frames, self.frame, self.alpha = n_frames, frame, alpha
        self.n = n_frames * frame
        self.n_fft = fft_size(self.n + HISTORY)
        self.H = bank.response(self.n_fft)
        self.Hc = np.conj(self.H)
        self.weights = frame_weights(frame, alpha)
        self.decay = alpha**frame if alpha else 0.0  # the integrator's decay over one frame

    def lateral(self, x: np.ndarray) -> np.ndarray:
        """Lateral-inhibition outputs y3 (128, n) float32 of x (n samples)."""
        AuditoryModel.passes += 1
        X = scipy.fft.rfft(x.astype(np.float32), self.n_fft)
        y3 = np.empty((N_CHANNELS, self.n), dtype=np.float32)
        prev = None
        for c0 in range(0, N_CHANNELS + 1, CHUNK):  # a few channels at a time: stays in cache
            c1 = min(c0 + CHUNK, N_CHANNELS + 1)
            y = scipy.fft.irfft(X[None, :] * self.H[c0:c1], self.n_fft, axis=1)[:, : self.n]
            if prev is not None:
                y = np.concatenate([prev, y])
            lo = c0 - 1 if prev is not None else c0
            np.subtract(y[:-1], y[1:], out=y3[lo : c1 - 1])
            prev = y[-1:]
        return y3

    def integrate(self, y3: np.ndarray) -> np.ndarray:
        """Rectify, leaky-integrate and sample y3 (128, n) -> spectrogram (N, 128) float64."""
        return self.integrate_linear(np.maximum(y3, 0))

    def integrate_linear(self, z: np.ndarray) -> np.ndarray:
        """The integrate() stage without its rectifier, a linear map: z (128, n) -> (N, 128) float64."""
        s = z.reshape(N_CHANNELS, self.n_frames, self.frame) @ self.weights
        return leaky_integrate(s, self.alpha, self.frame).T

    def integrate_adjoint(self, g: np.ndarray, y3: np.ndarray) -> np.ndarray:
        """Gradient wrt y3 (128, n) of <g, integrate(y3)> for g (N, 128)."""
        g = np.asarray(g, dtype=np.float64).T
        if self.decay:  # adjoint of the causal recursion: the same recursion run backwards in time
            g = frame_recursion(g, self.decay, reverse=True)
        g = np.clip(g, -1e30, 1e30).astype(np.float32)  # float32 from here on: keep it finite
        gy = (g[:, :, None] * self.weights[None, None, :]).reshape(N_CHANNELS, self.n)
        return gy * (y3 > 0)

    def channel_adjoint(self, r: np.ndarray) -> np.ndarray:
        """Sum over channels of each channel's cochlear filter run backwards on r (129, n) -> signal (n,)."""
        AuditoryModel.passes += 1
        acc = np.zeros(self.n_fft // 2 + 1, dtype=np.complex64)
        for c0 in range(0, len(r), CHUNK):
            c1 = min(c0 + CHUNK, len(r))
            acc += np.einsum("cf,cf->f", scipy.fft.rfft(r[c0:c1], self.n_fft, axis=1), self.Hc[c0:c1])
        return scipy.fft.irfft(acc, self.n_fft)[: self.n]

    def lateral_adjoint(self, g3: np.ndarray) -> np.ndarray:
        """Gradient wrt x (n,) of <g3, lateral(x)> for g3 (128, n)."""
        r = np.zeros((N_CHANNELS + 1, self.n), dtype=np.float32)
        r[:-1] += g3
        r[1:] -= g3
        return self.channel_adjoint(r)
