"""Windowing of utterances into training samples: 200 ms slices, their 26 spectrogram frames, model windows,
word segments (the vocabulary task), and the 0.3 compression of the autoencoder's input.

An utterance of T video frames is cut into T // 5 slices of 5 video frames (200 ms at 25 fps); each slice is
paired with 26 spectrogram frames obtained by linearly interpolating the utterance's auditory spectrogram
(8 ms frames) onto 26 equally spaced times per slice (as the study did: 75 frames -> 390 spectrogram frames).
A model window spans `window_slices` consecutive slices with a hop of one slice (GF2S/GP2S: 1 slice = 200 ms;
Lip2AudSpec: 2 slices = 400 ms, 200 ms hop); overlapping window predictions are averaged per slice.
Vocabulary task (TrainConfig.task = "words"): every aligned word is resampled to 2 slices (10 video frames,
52 spectrogram frames of the word's time span) and cut into the same model windows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import Lip2SpeechError
from ..timebase import frame_times, span_frames


SLICE_FRAMES = 5  # video frames per slice (200 ms at 25 fps)


SLICE_SPEC = 26  # spectrogram frames per slice after interpolation


COMPRESS = 0.3  # the autoencoder works on spectrogram ** 0.3


SLICES_PER_WORD = 2  # vocabulary task: every word is resampled to 2 slices (10 video frames, 52 spectrogram frames)


N_GF = 7  # Gabor features per frame


GF_INPUTS = ("study", "frames")  # GF2S input layouts (see the module docstring)


def n_slices(n_video_frames: int, slice_frames: int = SLICE_FRAMES) -> int:
    """Number of whole slices in an utterance of `n_video_frames` frames."""
    return int(n_video_frames) // slice_frames


def _interp_weights(src_times: np.ndarray, dst_times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower/upper source index and fraction of every destination time (edges held constant)."""
    src = np.asarray(src_times, dtype=np.float64)
    dst = np.clip(np.asarray(dst_times, dtype=np.float64), src[0], src[-1])
    if len(src) == 1:
        z = np.zeros(len(dst), dtype=np.int64)
        return z, z, np.zeros(len(dst))
    hi = np.clip(np.searchsorted(src, dst, side="right"), 1, len(src) - 1)
    lo = hi - 1
    span = src[hi] - src[lo]
    frac = np.where(span > 0, (dst - src[lo]) / np.where(span > 0, span, 1.0), 0.0)
    return lo, hi, frac


def interp_matrix(src_times: np.ndarray, dst_times: np.ndarray) -> np.ndarray:
    """(len(dst), len(src)) linear-interpolation weights, edges held constant (like np.interp)."""
    lo, hi, frac = _interp_weights(src_times, dst_times)
    w = np.zeros((len(lo), len(np.atleast_1d(src_times))))
    rows = np.arange(len(lo))
    np.add.at(w, (rows, lo), 1.0 - frac)
    np.add.at(w, (rows, hi), frac)
    return w


def interp_rows(x: np.ndarray, src_times: np.ndarray, dst_times: np.ndarray) -> np.ndarray:
    """Rows of x (at src_times) linearly interpolated to dst_times (float32)."""
    lo, hi, frac = _interp_weights(src_times, dst_times)
    x = np.asarray(x, dtype=np.float32)
    f = frac.astype(np.float32)[:, None]
    return x[lo] * (1 - f) + x[hi] * f


def _grids(n_aud: int, n_sl: int, fps: float, spf: int, slice_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre times (s) of the spectrogram frames and of the interpolated slice frames."""
    aud_t = frame_times(n_aud)
    dur = n_sl * slice_frames / float(fps)
    sl_t = (np.arange(n_sl * spf) + 0.5) * dur / (n_sl * spf)
    return aud_t, sl_t


def spec_to_slices(aud: np.ndarray, fps: float, n_sl: int, spf: int = SLICE_SPEC,
                   slice_frames: int = SLICE_FRAMES) -> np.ndarray:
    """Spectrogram (N, bins) -> (n_sl * spf, bins) on the slice grid covering n_sl * slice_frames video frames."""
    aud_t, sl_t = _grids(len(aud), n_sl, fps, spf, slice_frames)
    return interp_rows(aud, aud_t, sl_t)


def slices_to_spec(sl: np.ndarray, n_aud: int, fps: float, spf: int = SLICE_SPEC,
                   slice_frames: int = SLICE_FRAMES) -> np.ndarray:
    """Slice-grid frames (n_sl * spf, bins) -> (n_aud, bins) on the original 8 ms grid (edges held)."""
    n_sl = len(sl) // spf
    aud_t, sl_t = _grids(n_aud, n_sl, fps, spf, slice_frames)
    return interp_rows(sl, sl_t, aud_t)


def window_starts(n_sl: int, window_slices: int, hop_slices: int = 1) -> np.ndarray:
    """First slice of every window that fits in `n_sl` slices."""
    return np.arange(0, max(n_sl - window_slices + 1, 0), hop_slices)


def nearest_index(mask: np.ndarray) -> np.ndarray:
    """For every position, the index of the nearest position where `mask` is True (mask must have one)."""
    good = np.flatnonzero(mask)
    return good[np.abs(np.arange(len(mask))[:, None] - good[None]).argmin(1)]


def overlap_average(windows: np.ndarray, n_sl: int, window_slices: int, hop_slices: int = 1) -> np.ndarray:
    """Window predictions (W, window_slices * spf, D) -> (n_sl * spf, D), averaging overlapping slices."""
    spf = windows.shape[1] // window_slices
    out = np.zeros((n_sl * spf, windows.shape[2]), dtype=np.float64)
    count = np.zeros((n_sl * spf, 1))
    for w, s in enumerate(window_starts(n_sl, window_slices, hop_slices)):
        out[s * spf:(s + window_slices) * spf] += windows[w]
        count[s * spf:(s + window_slices) * spf] += 1
    if np.any(count == 0):  # slices no window covers (only when hop > 1): hold the nearest covered value
        idx = nearest_index(count[:, 0] > 0)
        out, count = out[idx], count[idx]
    return (out / count).astype(np.float32)


def compress(aud: np.ndarray) -> np.ndarray:
    """Spectrogram -> autoencoder domain: max(aud, 0) ** 0.3."""
    return np.maximum(aud, 0.0) ** COMPRESS


def decompress(x: np.ndarray, legacy: bool = False) -> np.ndarray:
    """Autoencoder domain -> spectrogram: max(x, 0) ** (1/0.3); `legacy` reproduces the published power-3 bug."""
    return np.maximum(x, 0.0) ** (3.0 if legacy else 1.0 / COMPRESS)


def deltas(x: np.ndarray) -> np.ndarray:
    """(T, ...) -> (3, T, ...): the frames, their first and their second temporal difference (0 at the start)."""
    d1 = np.diff(x, axis=0, prepend=x[:1])
    d2 = np.diff(d1, axis=0, prepend=d1[:1])
    return np.stack([x, d1, d2]).astype(np.float32)


def check_gf_input(gf_input: str) -> str:
    """`gf_input` itself; Lip2SpeechError unless it is one of GF_INPUTS."""
    if gf_input not in GF_INPUTS:
        raise Lip2SpeechError(f"unknown gf_input {gf_input!r} (choose from {', '.join(GF_INPUTS)})")
    return gf_input


def slice_steps(kind: str, gf_input: str = "frames") -> int:
    """Input time steps per 200 ms slice: 26 for the study's GF input, else the 5 video frames."""
    return SLICE_SPEC if kind == "gf" and check_gf_input(gf_input) == "study" else SLICE_FRAMES


def gf_width(gf_input: str = "frames") -> int:
    """Values per GF input step: 7 GF + first + second differences (study, 21) or + first differences (14)."""
    return 3 * N_GF if check_gf_input(gf_input) == "study" else 2 * N_GF


def spline_steps(x: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Columns of x (T, C) sampled at fractional frame indices `coords` by cubic splines (map_coordinates
    order 3 over the whole utterance, edges held): (len(coords), C) float32."""
    from scipy.ndimage import map_coordinates

    c = np.asarray(coords, np.float64)[None]
    return np.stack([map_coordinates(np.asarray(col, np.float64), c, order=3, mode="nearest")
                     for col in np.asarray(x).T], axis=1).astype(np.float32)


def study_gf(x: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """The study's GF input: normalised GF (T, 7) splined to `coords` with first and second differences
    of the steps appended -> (len(coords), 21)."""
    return np.concatenate(list(deltas(spline_steps(x, coords))), axis=1)


def study_steps(n_sl: int, slice_frames: int = SLICE_FRAMES, spf: int = SLICE_SPEC) -> np.ndarray:
    """Fractional video-frame index of each of the n_sl * 26 steps, centred like the spectrogram slice grid."""
    return (np.arange(n_sl * spf) + 0.5) * slice_frames / spf - 0.5


def cut_windows(x: np.ndarray, kind: str, n_sl: int, window_slices: int,
                slice_frames: int = SLICE_FRAMES) -> np.ndarray:
    """Utterance input -> stacked windows: gf (W, window_slices * slice_frames, width); gp/faces
    (W, 3, frames, H, W). `slice_frames`: input steps per slice (slice_steps)."""
    starts = window_starts(n_sl, window_slices) * slice_frames
    span = window_slices * slice_frames
    if kind == "gf":
        return np.stack([x[s:s + span] for s in starts])
    return np.stack([x[:, s:s + span] for s in starts])


def target_windows(sl: np.ndarray, n_sl: int, window_slices: int, spf: int = SLICE_SPEC) -> np.ndarray:
    """Slice-grid spectrogram (n_sl * spf, bins) -> per-window targets (W, window_slices * spf, bins)."""
    return np.stack([sl[s * spf:(s + window_slices) * spf] for s in window_starts(n_sl, window_slices)])


def word_segments(word_times: Sequence[tuple[str, float, float]] | None, fps: float, n_frames: int,
                  min_frames: int = 2) -> list[tuple[str, int, int]]:
    """Words (not sil/sp) as (word, first video frame, end frame) from alignment times in seconds."""
    out = []
    for word, start, end in word_times or ():
        if word in ("sil", "sp"):
            continue
        a = int(np.floor(start * fps + 1e-6))  # tolerance: 0.6 s * 25 fps must be frame 15, not 16
        b = min(int(np.ceil(end * fps - 1e-6)), n_frames)
        if b - a >= min_frames:
            out.append((word, a, b))
    return out


def word_window(x: np.ndarray, aud: np.ndarray, kind: str, fps: float, seg: tuple[str, int, int],
                slices_per_word: int = SLICES_PER_WORD, slice_frames: int = SLICE_FRAMES,
                spf: int = SLICE_SPEC, gf_input: str = "frames") -> tuple[np.ndarray, np.ndarray]:
    """One word as a fixed-size sample (vocabulary task): lip input (word_input) resampled to slices_per_word * 5
    frames (the study's GF input: splined to slices_per_word * 26 steps + differences), spectrogram (of the same
    time span) resampled to slices_per_word * 26 frames."""
    _, a, b = seg
    study = kind == "gf" and check_gf_input(gf_input) == "study"
    n_in = slices_per_word * (SLICE_SPEC if study else slice_frames)
    t_src = np.arange(a, b, dtype=np.float64)
    t_dst = np.linspace(a, b - 1, n_in)
    w = interp_matrix(t_src, t_dst).astype(np.float32)
    if study:
        lips = study_gf(x, t_dst)
    elif kind == "gf":
        lips = w @ x[a:b]
    else:
        lips = np.einsum("ft,ct...->cf...", w, x[:, a:b])
    aud_t = frame_times(len(aud))
    return lips.astype(np.float32), interp_rows(aud, aud_t, word_spec_times(seg, fps, slices_per_word, spf))


def word_spec_times(seg: tuple[str, int, int], fps: float, slices_per_word: int = SLICES_PER_WORD,
                    spf: int = SLICE_SPEC) -> np.ndarray:
    """Centre times (s) of a word window's slices_per_word * 26 spectrogram frames over video frames [a, b)."""
    _, a, b = seg
    return a / fps + (np.arange(slices_per_word * spf) + 0.5) * (b - a) / fps / (slices_per_word * spf)


def word_frames(seg: tuple[str, int, int], fps: float, n_aud: int) -> np.ndarray:
    """Indices of the 8 ms spectrogram frames whose centre lies in the word's video frames [a, b)."""
    _, a, b = seg
    return span_frames(a / fps, b / fps, n_aud)


def word_samples(x: np.ndarray, aud: np.ndarray, kind: str, fps: float, segs: Sequence[tuple[str, int, int]],
                 window_slices: int, slices_per_word: int = SLICES_PER_WORD,
                 gf_input: str = "frames") -> tuple[np.ndarray, np.ndarray]:
    """Model windows of every word of an utterance (x from word_input): lips (n_words * W, ...) and compressed
    target spectrogram windows (n_words * W, window_slices * 26, bins), W = slices_per_word - window_slices + 1
    windows per word (GF2S/GP2S: the word's 2 slices; Lip2AudSpec: one 2-slice window)."""
    xs, ys = [], []
    for seg in segs:
        lips, spec = word_window(x, aud, kind, fps, seg, slices_per_word, gf_input=gf_input)
        xs.append(cut_windows(lips, kind, slices_per_word, window_slices, slice_steps(kind, gf_input)))
        ys.append(target_windows(compress(spec), slices_per_word, window_slices))
    return np.concatenate(xs), np.concatenate(ys)
