"""Windowing of utterances into training samples, per-speaker normalisation, splits and streaming datasets.

An utterance of T video frames is cut into T // 5 slices of 5 video frames (200 ms at 25 fps); each slice is
paired with 26 spectrogram frames obtained by linearly interpolating the utterance's auditory spectrogram
(8 ms frames) onto 26 equally spaced times per slice (as the study did: 75 frames -> 390 spectrogram frames).
A model window spans `window_slices` consecutive slices with a hop of one slice (GF2S/GP2S: 1 slice = 200 ms;
Lip2AudSpec: 2 slices = 400 ms, 200 ms hop); overlapping window predictions are averaged per slice.
Vocabulary task (TrainConfig.task = "words"): every aligned word is resampled to 2 slices (10 video frames,
52 spectrogram frames of the word's time span) and cut into the same model windows.
GF input (TrainConfig.gf_input): `study` (the study's code) spline-interpolates the 7 GF to 26 steps per slice
and appends their first and second differences (26 x 21 per slice); `frames` keeps the 5 video frames of a
slice with the 7 GF and their first differences (5 x 14).
"""

from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .errors import Lip2SpeechError
from .timebase import frame_times, span_frames

SLICE_FRAMES = 5  # video frames per slice (200 ms at 25 fps)
SLICE_SPEC = 26  # spectrogram frames per slice after interpolation
COMPRESS = 0.3  # the autoencoder works on spectrogram ** 0.3
SLICES_PER_WORD = 2  # vocabulary task: every word is resampled to 2 slices (10 video frames, 52 spectrogram frames)
FLIP_GF_COLUMNS = (3, 6)  # centroid x and orientation change sign under a horizontal flip
N_GF = 7  # Gabor features per frame
GF_INPUTS = ("study", "frames")  # GF2S input layouts (see the module docstring)
SPLIT_PROTOCOLS = ("ours", "study")  # see split_keys
STUDY_VIDEOS = 100  # the study's split: the first 100 videos of each speaker ...
STUDY_TRAIN = 80  # ... of which the first 80 train; of the last 20 the first 10 validate and all 20 test


# ---- time grids --------------------------------------------------------------------------------


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


# ---- lip inputs --------------------------------------------------------------------------------


def fill_invalid(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace frames without a face by the nearest frame with one (along axis 0)."""
    valid = np.asarray(valid, dtype=bool)
    if valid.all():
        return x
    if not valid.any():
        raise Lip2SpeechError("no face found in any frame")
    return x[nearest_index(valid)]


def deltas(x: np.ndarray) -> np.ndarray:
    """(T, ...) -> (3, T, ...): the frames, their first and their second temporal difference (0 at the start)."""
    d1 = np.diff(x, axis=0, prepend=x[:1])
    d2 = np.diff(d1, axis=0, prepend=d1[:1])
    return np.stack([x, d1, d2]).astype(np.float32)


@dataclass
class NormStats:
    """Per-speaker mean and std of one lip input (gf: per feature; gp/faces: one scalar)."""

    kind: str
    per_speaker: dict[str, tuple[list[float], list[float]]]

    def get(self, speaker: str, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) for `speaker`; an unseen speaker is normalised by its own utterance `x`."""
        if speaker in self.per_speaker:
            m, s = self.per_speaker[speaker]
            return np.asarray(m, np.float32), np.asarray(s, np.float32)
        if x is None:
            raise Lip2SpeechError(f"no normalisation statistics for speaker {speaker!r}")
        return _moments(self.kind, [x])

    def to_dict(self) -> dict[str, Any]:
        # plain floats: numpy scalars would stop Lightning's weights-only checkpoint loading from resuming
        return {"kind": self.kind, "per_speaker": {k: [[float(v) for v in m], [float(v) for v in s]]
                                                   for k, (m, s) in self.per_speaker.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NormStats":
        return cls(d["kind"], {k: (list(v[0]), list(v[1])) for k, v in d["per_speaker"].items()})


def raw_lips(lips: Mapping[str, np.ndarray], kind: str) -> np.ndarray:
    """The raw per-frame lip input of `kind`, non-finite frames filled: gf (T,7), gp (T,H,W), faces (T,S,S) in [0,1]."""
    x = np.asarray(lips[kind], dtype=np.float32)
    if kind == "faces":
        x = x / 255.0
    if not np.asarray(lips["valid"], bool).any():
        raise Lip2SpeechError("no face found in any frame")
    # The lip front end already interpolates frames without a face; only non-finite frames need filling.
    return fill_invalid(x, np.isfinite(x.reshape(len(x), -1)).all(1))


def _moments(kind: str, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    axis = 0 if kind == "gf" else None
    if kind == "gf":
        cat = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays]).astype(np.float64)
        m, s = cat.mean(axis), cat.std(axis)
    else:
        n = sum(a.size for a in arrays)
        m = sum(float(a.sum(dtype=np.float64)) for a in arrays) / n
        v = sum(float(((a - m) ** 2).sum(dtype=np.float64)) for a in arrays) / n
        m, s = np.array([m]), np.array([np.sqrt(v)])
    s = np.where(s > 1e-8, s, 1.0)
    return m.astype(np.float32), s.astype(np.float32)


def compute_stats(kind: str, items: Callable[[], Iterator[tuple[str, Mapping[str, np.ndarray]]]]) -> NormStats:
    """Per-speaker stats of lip input `kind` from a stream of (speaker, lips); gp/faces stream running sums."""
    acc: dict[str, list[float]] = {}
    gf: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for speaker, lips in items():
        x = raw_lips(lips, kind).astype(np.float64)
        if kind == "gf":
            gf[speaker].append(x)  # 7 floats per frame: small enough to keep
        else:
            a = acc.setdefault(speaker, [0.0, 0.0, 0.0])
            a[0] += x.size
            a[1] += x.sum()
            a[2] += (x * x).sum()
    per: dict[str, tuple[list[float], list[float]]] = {}
    if kind == "gf":
        for spk, arrs in gf.items():
            m, s = _moments("gf", arrs)
            per[spk] = (m.tolist(), s.tolist())
    else:
        for spk, (n, s1, s2) in acc.items():
            m = s1 / n
            sd = float(np.sqrt(max(s2 / n - m * m, 0.0)))
            per[spk] = ([m], [sd if sd > 1e-8 else 1.0])
    return NormStats(kind, per)


def normalised_lips(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str) -> np.ndarray:
    """Per-frame lip input normalised by the speaker's statistics (an unseen speaker: by its own utterance):
    gf (T, 7); gp/faces (T, H, W)."""
    x = raw_lips(lips, kind)
    m, s = stats.get(speaker, x)
    return ((x - m) / s if kind == "gf" else (x - m[0]) / s[0]).astype(np.float32)


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


def utterance_input(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str,
                    gf_input: str = "frames") -> np.ndarray:
    """Normalised model input for a whole utterance: gf `frames` (T, 14) features + differences, gf `study`
    (n_slices * 26, 21) splined steps + differences; gp/faces (3, T, H, W)."""
    x = normalised_lips(lips, kind, stats, speaker)
    if kind != "gf":
        return deltas(x)
    if check_gf_input(gf_input) == "study":
        return study_gf(x, study_steps(n_slices(len(x))))
    return np.concatenate([x, np.diff(x, axis=0, prepend=x[:1])], axis=1).astype(np.float32)


def word_input(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str,
               gf_input: str = "frames") -> np.ndarray:
    """What word segments are cut from: the per-frame normalised GF (T, 7) for the study's GF input (each word
    is splined on its own), else the utterance input."""
    if kind == "gf" and check_gf_input(gf_input) == "study":
        return normalised_lips(lips, kind, stats, speaker)
    return utterance_input(lips, kind, stats, speaker, gf_input)


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


def augment(x: np.ndarray, kind: str, rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    """Published augmentation: per sample a horizontal flip, Gaussian noise (sigma 0.01) or nothing."""
    choice = rng.integers(3)
    if choice == 0:
        if kind == "gf":  # a mirrored mouth: centroid x and orientation (and their differences) change sign
            x = x.copy()
            cols = [c + N_GF * k for k in range(x.shape[-1] // N_GF) for c in FLIP_GF_COLUMNS]
            x[..., cols] *= -1
            return x
        return np.ascontiguousarray(x[..., ::-1])
    if choice == 1:
        return (x + rng.normal(0.0, noise, x.shape)).astype(np.float32)
    return x


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


# ---- splits ------------------------------------------------------------------------------------


def _rank(key: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def _by_speaker(keys: Sequence[str]) -> dict[str, list[str]]:
    by_spk: dict[str, list[str]] = collections.defaultdict(list)
    for k in keys:
        by_spk[k.split("/")[0]].append(k)
    return by_spk


def study_split(keys: Sequence[str], videos: int = STUDY_VIDEOS, train: int = STUDY_TRAIN) -> dict[str, list[str]]:
    """The study's split: per speaker the first `videos` keys in natural file order, the first `train` of them
    to train; of the rest, the first half validates (picks the checkpoint) and all of them are the test set, so
    validation is part of test, as the study scored it. Fewer videos: the same proportions."""
    from .corpus.grid import natural_key

    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for spk, ks in sorted(_by_speaker(keys).items()):
        ks = sorted(ks, key=natural_key)[:videos]
        n_train = int(round(len(ks) * train / videos))
        test = ks[n_train:]
        out["train"] += ks[:n_train]
        out["val"] += test[: max(1, len(test) // 2)] if test else []
        out["test"] += test
    return out


def split_keys(keys: Sequence[str], test_fraction: float = 0.2, val_fraction: float = 0.1,
               test_speakers: Sequence[str] = (), seed: int = 0, protocol: str = "ours") -> dict[str, list[str]]:
    """Deterministic split of keys 'speaker/uid'. Protocol `ours`: per speaker test_fraction to test (seen
    speakers), or all of `test_speakers` to test (unseen speakers); val_fraction of each speaker's remaining keys
    to validation. Protocol `study`: study_split (fractions and seed unused)."""
    if protocol not in SPLIT_PROTOCOLS:
        raise Lip2SpeechError(f"unknown split protocol {protocol!r} (choose from {', '.join(SPLIT_PROTOCOLS)})")
    if protocol == "study":
        if test_speakers:
            raise Lip2SpeechError("the study's split protocol is per speaker; it has no unseen-speaker variant "
                                  "(leave test_speakers empty or use split_protocol: ours)")
        return study_split(keys)
    by_spk = _by_speaker(keys)
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for spk in sorted(by_spk):
        ks = sorted(by_spk[spk], key=lambda k: _rank(k, seed))
        if test_speakers:
            if spk in test_speakers:
                out["test"] += sorted(ks)
                continue
            n_test = 0
        else:
            n_test = int(round(test_fraction * len(ks)))
        rest = ks[n_test:]
        n_val = max(1, int(round(val_fraction * len(rest)))) if len(rest) > 1 and val_fraction > 0 else 0
        out["test"] += sorted(ks[:n_test])
        out["val"] += sorted(rest[:n_val])
        out["train"] += sorted(rest[n_val:])
    return out


# ---- streaming datasets ------------------------------------------------------------------------


class LRU:
    """A small least-recently-used cache of computed per-utterance arrays (bounds memory)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._d: collections.OrderedDict[Any, Any] = collections.OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        value = make()
        self._d[key] = value
        if len(self._d) > self.size:
            self._d.popitem(last=False)
        return value


class _UtteranceWindows(Dataset):
    """Samples indexed as (utterance, window); `_utterance(u)` builds one utterance's (inputs, targets) arrays,
    kept in an LRU cache, and training samples are augmented per (seed, epoch, index)."""

    index: list[tuple[int, int]]
    cache: LRU
    kind: str
    seed: int
    epoch: int
    do_augment: bool

    def _utterance(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        u, w = self.index[i]
        x, y = self.cache.get(u, lambda: self._utterance(u))
        xw = x[w]
        if self.do_augment:
            xw = augment(xw, self.kind, np.random.default_rng((self.seed, self.epoch, i)))
        return torch.from_numpy(np.ascontiguousarray(xw)), torch.from_numpy(np.ascontiguousarray(y[w]))


class WindowDataset(_UtteranceWindows):
    """(lip window, compressed target spectrogram window) samples streamed from per-utterance items.

    `load(key)` returns an item mapping with aud, lips, speaker; `counts[key]` is its number of video frames.
    `lips_from` maps a key to the key whose lips are used (the shuffled-lips control); default itself.
    `gf_input`: layout of the GF input (GF_INPUTS).
    """

    def __init__(self, keys: Sequence[str], counts: Mapping[str, int], load: Callable[[str], Mapping[str, Any]],
                 kind: str, stats: NormStats, window_slices: int, augment: bool = False, seed: int = 0,
                 cache_size: int = 16, lips_from: Mapping[str, str] | None = None,
                 gf_input: str = "frames") -> None:
        self.keys, self.load, self.kind, self.stats = list(keys), load, kind, stats
        self.gf_input = check_gf_input(gf_input)
        self.window_slices, self.do_augment, self.seed = window_slices, augment, seed
        self.lips_from = dict(lips_from or {})
        self.index: list[tuple[int, int]] = []
        self.groups: list[list[int]] = []  # sample indices per utterance (for block shuffling)
        for u, k in enumerate(self.keys):
            n_w = len(window_starts(n_slices(min(counts[k], counts[self.lips_from.get(k, k)])), window_slices))
            self.groups.append(list(range(len(self.index), len(self.index) + n_w)))
            self.index += [(u, w) for w in range(n_w)]
        self.cache = LRU(cache_size)
        self.epoch = 0

    def _utterance(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        key = self.keys[u]
        item = self.load(key)
        src = self.lips_from.get(key, key)
        lips_item = item if src == key else self.load(src)
        n_sl = n_slices(min(len(item["lips"]["valid"]), len(lips_item["lips"]["valid"])))
        x = cut_windows(utterance_input(lips_item["lips"], self.kind, self.stats, lips_item["speaker"],
                                        self.gf_input),
                        self.kind, n_sl, self.window_slices, slice_steps(self.kind, self.gf_input))
        sl = compress(spec_to_slices(np.asarray(item["aud"]), float(item["lips"]["fps"]), n_sl))
        return x, target_windows(sl, n_sl, self.window_slices)


class WordDataset(_UtteranceWindows):
    """Vocabulary task: (lip window, compressed target window) samples of the aligned words of each utterance,
    every word resampled to `slices_per_word` slices; utterances without word alignments are left out
    (`self.skipped` lists them). Same interface as WindowDataset (groups per utterance, LRU cache, epoch)."""

    def __init__(self, keys: Sequence[str], load: Callable[[str], Mapping[str, Any]], kind: str, stats: NormStats,
                 window_slices: int, augment: bool = False, seed: int = 0, cache_size: int = 16,
                 slices_per_word: int = SLICES_PER_WORD, gf_input: str = "frames") -> None:
        self.load, self.kind, self.stats = load, kind, stats
        self.gf_input = check_gf_input(gf_input)
        self.window_slices, self.do_augment, self.seed = window_slices, augment, seed
        self.slices_per_word = slices_per_word
        per_word = slices_per_word - window_slices + 1
        self.keys: list[str] = []
        self.skipped: list[str] = []
        self.index: list[tuple[int, int]] = []
        self.groups: list[list[int]] = []
        for k in keys:
            item = load(k)
            n = len(word_segments(item.get("word_times"), float(item["lips"]["fps"]), len(item["lips"]["valid"])))
            if n == 0:
                self.skipped.append(k)
                continue
            u = len(self.keys)
            self.keys.append(k)
            self.groups.append(list(range(len(self.index), len(self.index) + n * per_word)))
            self.index += [(u, w) for w in range(n * per_word)]
        self.cache = LRU(cache_size)
        self.epoch = 0

    def _utterance(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        item = self.load(self.keys[u])
        lips, fps = item["lips"], float(item["lips"]["fps"])
        segs = word_segments(item.get("word_times"), fps, len(lips["valid"]))
        x = word_input(lips, self.kind, self.stats, item["speaker"], self.gf_input)
        return word_samples(x, np.asarray(item["aud"]), self.kind, fps, segs, self.window_slices,
                            self.slices_per_word, self.gf_input)


class FrameDataset(Dataset):
    """All compressed spectrogram frames of one utterance per item (for the autoencoder; batches concatenate)."""

    def __init__(self, keys: Sequence[str], load: Callable[[str], Mapping[str, Any]]) -> None:
        self.keys, self.load = list(keys), load
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(compress(np.asarray(self.load(self.keys[i])["aud"], np.float32)))

    @staticmethod
    def collate(batch: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(batch)


def process_rank(rank: int | None = None, world: int | None = None) -> tuple[int, int]:
    """(rank, world size) of this process: the given values, else torch.distributed's, else (0, 1)."""
    if rank is not None and world is not None:
        return rank, world
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_shard(order: Sequence[int], rank: int, world: int, pad: bool = False) -> list[int]:
    """The rank's contiguous share of an epoch's sample order, as long as every other rank's (DDP needs equal
    lengths): len(order) // world samples, disjoint, the last len(order) % world sitting this epoch out; with
    `pad`, ceil(len(order) / world) samples, the order continued from its start to fill the last shares."""
    n = -(-len(order) // world) if pad else len(order) // world
    full = [order[i % len(order)] for i in range(n * world)] if pad and order else list(order)
    return full[rank * n:(rank + 1) * n]


class BlockShuffleSampler(Sampler[int]):
    """Shuffle utterances, then shuffle samples within blocks of `block` utterances: mixes samples across
    utterances while the dataset's LRU cache (>= block) keeps only a bounded number of utterances in memory.
    Deterministic per (seed, epoch); Lightning calls set_epoch. Under DDP every rank draws the same epoch order
    and takes its contiguous shard of it (rank_shard), so a rank reads about 1/world of the utterances;
    `rank`/`world` default to torch.distributed's when iterated."""

    def __init__(self, groups: Sequence[Sequence[int]], block: int, seed: int = 0, dataset: Any = None,
                 rank: int | None = None, world: int | None = None) -> None:
        self.groups, self.block, self.seed, self.dataset = groups, max(1, block), seed, dataset
        self.rank, self.world = rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.dataset is not None:
            self.dataset.epoch = epoch

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups) // process_rank(self.rank, self.world)[1]

    def epoch_order(self) -> list[int]:
        """Every sample of the epoch, in the order of all ranks together."""
        rng = np.random.default_rng((self.seed, self.epoch))
        order = rng.permutation(len(self.groups))
        out: list[int] = []
        for b in range(0, len(order), self.block):
            idx = np.concatenate([np.asarray(self.groups[g], dtype=np.int64) for g in order[b:b + self.block]]
                                 + [np.zeros(0, np.int64)])
            out += rng.permutation(idx).tolist()
        return out

    def __iter__(self) -> Iterator[int]:
        return iter(rank_shard(self.epoch_order(), *process_rank(self.rank, self.world)))


class ShardSampler(Sampler[int]):
    """This process's rank_shard of another sampler's order (of range(n) for an int): the whole of it outside
    DDP. set_epoch is passed on. `pad`: every sample at least once (for evaluation)."""

    def __init__(self, base: Any, rank: int | None = None, world: int | None = None, pad: bool = False) -> None:
        self.base = range(base) if isinstance(base, int) else base
        self.rank, self.world, self.pad = rank, world, pad

    def set_epoch(self, epoch: int) -> None:
        if callable(getattr(self.base, "set_epoch", None)):
            self.base.set_epoch(epoch)

    def __len__(self) -> int:
        world = process_rank(self.rank, self.world)[1]
        return -(-len(self.base) // world) if self.pad else len(self.base) // world

    def __iter__(self) -> Iterator[int]:
        return iter(rank_shard(list(self.base), *process_rank(self.rank, self.world), pad=self.pad))


def derangement(keys: Sequence[str], seed: int = 0) -> dict[str, str]:
    """Map every key to a different key (a seeded cyclic shift of a shuffled order): the shuffled-lips control."""
    keys = list(keys)
    if len(keys) < 2:
        return {k: k for k in keys}
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    return {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}
