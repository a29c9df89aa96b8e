"""Auditory spectrogram -> waveform: NSL's iterative projection, a faster, better gradient method (L-BFGS, the
default), and conjugate gradients with an exact line search (cheapest per iteration; `speak`'s choice)."""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np

from ..errors import Lip2SpeechError
from .filterbank import N_CHANNELS, Filterbank, centre_frequencies, lip2speech_filters
from .model import AuditoryModel
from .spectrogram import DESIGN_FS, frame_params

Method = Literal["lbfgs", "cg", "nsl"]
Start = Literal["sine", "harmonic", "noise"]
PIECE_FRAMES, OVERLAP_FRAMES = 512, 32  # long spectrograms: pieces of 4.1 s cross-faded over 0.26 s (8 ms frames)
STARTS = ("sine", "harmonic", "noise")
DEFAULT_ITERS = {"lbfgs": 20, "cg": 2, "nsl": 30}


def _unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    sd = x.std()
    return x / sd if sd > 0 else x


def check_spectrogram(aud: np.ndarray) -> np.ndarray:
    """A finite (N, 128) float64 spectrogram with N >= 1; small negative values (model outputs) are clipped to 0."""
    aud = np.asarray(aud)
    if aud.ndim != 2 or aud.shape[1] != N_CHANNELS or aud.shape[0] < 1:
        raise Lip2SpeechError(f"auditory spectrogram must have shape (frames, {N_CHANNELS}), got {aud.shape}")
    if not np.issubdtype(aud.dtype, np.number):
        raise Lip2SpeechError(f"auditory spectrogram must be numeric, got dtype {aud.dtype}")
    aud = aud.astype(np.float64)
    if not np.all(np.isfinite(aud)):
        raise Lip2SpeechError("auditory spectrogram contains NaN or infinite values")
    return np.maximum(aud, 0.0)


def _sinusoids(amp: np.ndarray, freqs: np.ndarray, phase: np.ndarray, frame: int, fs: float,
               offset: int = 0) -> np.ndarray:
    """Sum of sinusoids at `freqs` (Hz) with phases `phase` at sample 0 and per-frame amplitudes amp (N, len(freqs)),
    interpolated linearly between frame centres (held before the first and after the last): N * frame samples,
    the first of them at sample `offset` (so that the pieces of a long signal join up in phase)."""
    n_frames = amp.shape[0]
    # Blocks of `frame` samples between successive frame centres (block m: from the centre of frame m-1 to that
    # of frame m; samples before the first centre are block 0), each a matrix product of complex phasors:
    # x[m, tau] = Re sum_k a_k(m, tau) e^{i(w_k t_m + phi_k)} e^{i w_k tau / fs}, with a linear in tau.
    half = frame // 2
    starts = offset + half + frame * (np.arange(n_frames + 1) - 1)  # first sample of each block (block 0: before 0)
    rot = np.exp(1j * ((2 * np.pi * np.outer(starts / fs, freqs) + phase) % (2 * np.pi)))
    tau = np.arange(frame)
    steps = np.exp(1j * 2 * np.pi * np.outer(freqs, tau) / fs)  # (K, frame)
    w = (tau + 0.5 - (frame - 2 * half) / 2) / frame  # interpolation weight of the later frame
    env = np.concatenate([amp[:1], amp, amp[-1:]])  # frames -1 .. N, ends held
    # float64 throughout: a few matrix products, cheap, and the start stays scale-free to rounding
    blocks = ((env[:-1] * rot) @ (steps * (1 - w))).real + ((env[1:] * rot) @ (steps * w)).real
    return blocks.ravel()[half : half + n_frames * frame]


def sine_start(aud: np.ndarray, frame: int, fs: float, seed: int = 0, offset: int = 0) -> np.ndarray:
    """Starting waveform: each channel's CF sinusoid (random phase) with the channel's frame envelope, unit variance;
    `offset`: the first sample's index in a longer signal."""
    phase = np.random.default_rng(seed).uniform(0.0, 2 * np.pi, N_CHANNELS)
    return _unit(_sinusoids(aud, centre_frequencies(fs), phase, frame, fs, offset))


def harmonic_start(aud: np.ndarray, frame: int, fs: float, f0: float = 90.0, seed: int = 0,
                   offset: int = 0) -> np.ndarray:
    """Starting waveform of a steady voice: the harmonics of f0 Hz (random phases), each with the spectrogram's
    envelope interpolated (over log frequency) at its frequency, unit variance.

    Channel sinusoids (sine_start) a few Hz apart beat against each other, so a smooth spectrogram (a model's
    prediction, without harmonic detail) becomes a noise-like signal whose band envelopes fluctuate at random;
    harmonics of one f0 beat only at multiples of f0, above the envelope rates that intelligibility depends on.
    """
    if not f0 > 0:
        raise Lip2SpeechError(f"f0 must be > 0 Hz, got {f0}")
    cf = centre_frequencies(fs)
    fk = f0 * np.arange(1, int(fs / 2 / f0) + 1)
    fk = fk[(fk >= cf[0] / 1.1) & (fk <= min(0.98 * fs / 2, 1.1 * cf[-1]))]
    if fk.size == 0:
        raise Lip2SpeechError(f"f0 {f0} Hz has no harmonic between {cf[0]:.0f} and {cf[-1]:.0f} Hz")
    log_cf, log_fk = np.log(cf), np.log(fk)
    j = np.clip(np.searchsorted(log_cf, log_fk) - 1, 0, N_CHANNELS - 2)
    w = np.clip((log_fk - log_cf[j]) / (log_cf[j + 1] - log_cf[j]), 0.0, 1.0)
    cols = np.arange(fk.size)
    interp = np.zeros((N_CHANNELS, fk.size))
    interp[j, cols], interp[j + 1, cols] = 1 - w, w
    # the same power per Hz as one sinusoid per channel: channels are 2^(1/24) apart, harmonics f0 apart
    density = np.sqrt(f0 / (fk * (2 ** (1 / 24) - 1)))
    phase = np.random.default_rng(seed).uniform(0.0, 2 * np.pi, fk.size)
    return _unit(_sinusoids((aud @ interp) * density, fk, phase, frame, fs, offset))


def nsl_projection(
    aud: np.ndarray, model: AuditoryModel, n_iter: int, x0: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """NSL aud2wav: per channel, rescale each frame of y3 by target/actual, filter back, sum; keep the best iterate."""
    x = _unit(x0)
    best_err, best_x = np.inf, x
    for it in range(n_iter + 1):
        y3 = model.lateral(x)
        v = model.integrate(y3)
        # NSL scores an iterate after matching the mean level, since the waveform is renormalised each time
        scale = aud.mean() / v.mean() if v.mean() > 0 else 1.0
        err = float(np.sum((v * scale - aud) ** 2))
        if err < best_err:
            best_err, best_x = err, x
        if it == n_iter:
            break
        ratio = np.where(v > 0, aud / np.where(v > 0, v, 1.0), np.where(aud > 0, 2.0, 1.0))
        r = np.zeros((N_CHANNELS + 1, model.n), dtype=np.float32)
        r[:-1] = y3 * np.repeat(ratio.T, model.frame, axis=1)
        x = _unit(model.channel_adjoint(r))
        if progress:
            progress(it + 1)
    return best_x * (aud.mean() / max(model.integrate(model.lateral(best_x)).mean(), 1e-30))


def lbfgs_inversion(
    aud: np.ndarray, model: AuditoryModel, n_iter: int, x0: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Minimise ||spectrogram(x) - aud||^2 over the waveform x by L-BFGS, with the model's exact gradient."""

    # Solve at unit scale: the model is positively homogeneous (spectrogram(c x) = c spectrogram(x), c > 0),
    # so dividing the target by the start's best-fitting level makes the optimiser's tolerances scale-free.
    y3_0 = model.lateral(x0)
    level = _start_level(aud, model.integrate(y3_0))
    if n_iter == 0:  # the start itself, at the target's level
        return level * x0
    target = aud / level

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        y3 = y3_0 if x is x0 or np.array_equal(x, x0) else model.lateral(x)  # the optimiser starts at x0
        d = model.integrate(y3) - target
        g = model.lateral_adjoint(model.integrate_adjoint(2.0 * d, y3))
        return float(np.sum(d * d)), g.astype(np.float64)

    counter = {"it": 0}

    def callback(_x: np.ndarray) -> None:
        counter["it"] += 1
        if progress:
            progress(counter["it"])

    from scipy.optimize import minimize  # here: ~1-2 s to import, and speak's cg does not need it

    res = minimize(loss, x0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": n_iter, "maxfun": int(1.5 * n_iter) + 5})
    return level * (res.x if np.all(np.isfinite(res.x)) else x0)


def _start_level(aud: np.ndarray, v0: np.ndarray) -> float:
    """The level c > 0 at which c * spectrogram(start) best fits aud (least squares; the mean ratio if that fails)."""
    level = float(np.sum(v0 * aud) / max(np.sum(v0 * v0), 1e-300))
    return level if level > 0 else float(aud.mean() / max(v0.mean(), 1e-300))


def _line_search(model: AuditoryModel, y3: np.ndarray, y3_dir: np.ndarray, v: np.ndarray, target: np.ndarray,
                 steps: int = 3) -> tuple[float, np.ndarray, np.ndarray]:
    """Step t > 0 along a direction minimising ||integrate(y3 + t y3_dir) - target||^2 (else t = 0), with the
    lateral outputs and spectrogram there. The error is piecewise quadratic in t (the rectifier's pattern sets
    the piece), so each step solves the current piece exactly: Newton steps costing no filterbank pass."""
    best_t, best_err, best_y3, best_v = 0.0, float(np.sum((v - target) ** 2)), y3, v
    a, b = v, model.integrate_linear(y3_dir * (y3 > 0))  # v(t) = a + t b on the piece at t = 0
    for _ in range(steps):
        bb = float(np.sum(b * b))
        if not bb > 0:
            break
        t = -float(np.sum((a - target) * b)) / bb
        if not (np.isfinite(t) and t > 0):
            break
        y3_t = y3 + np.float32(t) * y3_dir
        v_t = model.integrate(y3_t)
        err = float(np.sum((v_t - target) ** 2))
        if err >= best_err:
            break
        best_t, best_err, best_y3, best_v = t, err, y3_t, v_t
        b = model.integrate_linear(y3_dir * (y3_t > 0))
        a = v_t - t * b
    return best_t, best_y3, best_v


def cg_inversion(
    aud: np.ndarray, model: AuditoryModel, n_iter: int, x0: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Minimise ||spectrogram(x) - aud||^2 by nonlinear conjugate gradients (Polak-Ribiere+), exact line search.

    The filterbank is linear, so the lateral outputs along a direction p are y3(x) + t y3(p): each iteration
    costs one gradient and one filterbank pass of p, where a generic line search (L-BFGS) re-runs the model.
    """
    y3 = model.lateral(x0)
    v = model.integrate(y3)
    level = _start_level(aud, v)
    if n_iter == 0:
        return level * x0
    target = aud / level
    x = x0.astype(np.float64)
    g_prev = p = None
    for it in range(n_iter):
        g = model.lateral_adjoint(model.integrate_adjoint(2.0 * (v - target), y3)).astype(np.float64)
        if p is None:
            p = -g
        else:
            beta = max(0.0, float(g @ (g - g_prev)) / max(float(g_prev @ g_prev), 1e-300))
            p = -g + beta * p
            if float(g @ p) >= 0:  # not a descent direction: restart
                p = -g
        t, y3, v = _line_search(model, y3, model.lateral(p), v, target)
        if t == 0:
            break
        x += t * p
        g_prev = g
        if progress:
            progress(it + 1)
    return level * x


def invert_auditory_spectrogram(
    aud: np.ndarray,
    fs: float = 8000,
    frame_ms: float = 8,
    time_constant_ms: float = 8,
    n_iter: int | None = None,
    seed: int = 0,
    method: Method = "lbfgs",
    init: Start = "sine",
    f0: float = 90.0,
    filters: Filterbank | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Waveform (N * frame samples, float32, at fs Hz) whose auditory spectrogram matches aud (N, 128).

    method="lbfgs" (default, 20 iterations): gradient descent on the squared spectrogram error from a
    sinusoidal start; method="cg" (2): conjugate gradients on the same error, an exact line search per iteration
    (about half the cost of an L-BFGS iteration); method="nsl": the NSL toolbox's iterative projection (30
    iterations from noise in NSL).
    init is the starting waveform: "sine" (each channel's CF sinusoid: best for true spectrograms), "harmonic"
    (the harmonics of one f0 Hz, a steady voice: better for smooth predicted ones, `speak`'s), or "noise".
    n_iter is the quality/time knob. The waveform keeps the level implied by aud (unit variance for
    spectrograms of NSL-normalised input). An all-zero spectrogram gives silence.
    """
    aud = check_spectrogram(aud)
    if method not in DEFAULT_ITERS:
        raise Lip2SpeechError(f"unknown inversion method {method!r} (choose lbfgs, cg or nsl)")
    if init not in STARTS:
        raise Lip2SpeechError(f"unknown inversion start {init!r} (choose {', '.join(STARTS)})")
    n_iter = DEFAULT_ITERS[method] if n_iter is None else int(n_iter)
    if n_iter < 0:
        raise Lip2SpeechError(f"n_iter must be >= 0, got {n_iter}")
    if fs <= 0 or not np.log2(fs / DESIGN_FS).is_integer():
        raise Lip2SpeechError(f"inversion needs a sample rate of 16 kHz * 2^k (e.g. 8000, 16000), got {fs}")
    frame, alpha = frame_params(fs, frame_ms, time_constant_ms)
    bank = lip2speech_filters() if filters is None else filters
    run = {"lbfgs": lbfgs_inversion, "cg": cg_inversion, "nsl": nsl_projection}[method]

    def piece(start: int, stop: int) -> np.ndarray:
        part = aud[start:stop]
        if not np.any(part > 0):
            return np.zeros(len(part) * frame)
        model = AuditoryModel(bank, len(part), frame, alpha)
        if init == "sine":
            x0 = sine_start(part, frame, fs, seed, start * frame)
        elif init == "harmonic":
            x0 = harmonic_start(part, frame, fs, f0, seed, start * frame)
        else:
            # the first piece (a whole short clip) draws the same noise as before inversion came in pieces
            rng = np.random.default_rng(seed if start == 0 else [seed, start])
            x0 = _unit(rng.standard_normal(len(part) * frame))
        return np.nan_to_num(run(part, model, n_iter, x0, progress), nan=0.0, posinf=0.0, neginf=0.0)

    n_frames = aud.shape[0]
    if n_frames <= PIECE_FRAMES + OVERLAP_FRAMES:
        return piece(0, n_frames).astype(np.float32)
    # A long spectrogram is inverted in pieces of PIECE_FRAMES that overlap by OVERLAP_FRAMES, cross-faded: the
    # cost stays linear in its length (whole-signal arrays of 129 channels grow past the caches, and the memory
    # of a minutes-long video would not fit), and the starts' phases run on across pieces.
    out = np.zeros(n_frames * frame)
    fade = np.linspace(0.0, 1.0, OVERLAP_FRAMES * frame + 2)[1:-1]
    start = 0
    while True:
        stop = min(start + PIECE_FRAMES, n_frames)
        x = piece(start, stop)
        if start > 0:
            x[: fade.size] *= fade
        if stop < n_frames:
            x[-fade.size :] *= fade[::-1]
        out[start * frame : stop * frame] += x
        if stop == n_frames:
            return out.astype(np.float32)
        start = stop - OVERLAP_FRAMES
