"""Whole-utterance samples for gu2s: normalised Gabor inputs at 25 fps, compressed spectrogram targets on the
8 ms grid (5 frames per video frame), the GRID word tokens, augmentation, padded batches with lengths, and the
grammar-constrained read-out of the words (its losses: `losses.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..corpus.grammar import SLOTS, WORDS
from ..errors import Lip2SpeechError
from ..models.gu2s import UPSAMPLE
from . import datasets as DS, lip_inputs as LI, windows as W

MODEL_FPS = 25.0  # video rate the model reads (Hz); other rates are resampled to it
VOCAB = ("<blank>",) + WORDS  # CTC vocabulary: index 0 is the blank
WORD_INDEX = {w: i for i, w in enumerate(VOCAB)}
MIN_FRAMES = 2  # shortest video the model accepts (frames)


# ---- inputs ------------------------------------------------------------------------------------


@dataclass
class UtteranceInput:
    """One utterance as the model reads it: gp (T, H, W), gf (T, 7) and, for a model that reads it, the grey mouth
    region of the face crops (T, h, w), normalised, at 25 fps."""

    gp: np.ndarray
    gf: np.ndarray
    mouth: np.ndarray | None = None

    def pictures(self, f: Callable[[np.ndarray], np.ndarray]) -> "UtteranceInput":
        """The same utterance with `f` applied to each stack of pictures (gp and the mouth region)."""
        return replace(self, gp=f(self.gp), mouth=None if self.mouth is None else f(self.mouth))

    def frames_map(self, f: Callable[[np.ndarray], np.ndarray]) -> "UtteranceInput":
        """The same utterance with `f` applied along time to every input (gp, gf, mouth)."""
        return UtteranceInput(f(self.gp), f(self.gf), None if self.mouth is None else f(self.mouth))

    @property
    def frames(self) -> int:
        return len(self.gf)


def interp_frames(x: np.ndarray, src_times: np.ndarray, dst_times: np.ndarray) -> np.ndarray:
    """Frames (T, ...) at src_times linearly interpolated to dst_times (float32, any trailing shape)."""
    flat = W.interp_rows(x.reshape(len(x), -1), src_times, dst_times)
    return flat.reshape((len(dst_times),) + x.shape[1:])


def to_model_rate(x: np.ndarray, fps: float) -> np.ndarray:
    """Frames (T, ...) at `fps` resampled (linearly) to 25 fps; unchanged at 25 fps."""
    if abs(fps - MODEL_FPS) < 1e-6:
        return x
    n_out = max(1, int(round(len(x) * MODEL_FPS / fps)))
    return interp_frames(x, np.arange(len(x)) / fps, np.arange(n_out) / MODEL_FPS)


def utterance_input(lips: Mapping[str, Any], stats: Mapping[str, LI.NormStats], speaker: str,
                    mouth: bool = False) -> UtteranceInput:
    """Normalised gu2s input of one utterance's lips, with the grey mouth region when `mouth` (an unseen speaker
    is normalised by its own utterance)."""
    n = len(lips["valid"])
    if n < MIN_FRAMES:
        raise Lip2SpeechError(f"video too short: {n} frame(s), gu2s needs at least {MIN_FRAMES}")
    fps = float(lips["fps"])
    out = {}
    for kind in ("gp", "gf") + (("mouth",) if mouth else ()):
        x = LI.raw_lips(lips, kind)
        m, s = stats[kind].get(speaker, x)
        x = (x - m) / s if kind == "gf" else (x - m[0]) / s[0]
        out[kind] = np.ascontiguousarray(to_model_rate(x.astype(np.float32), fps))
    return UtteranceInput(out["gp"], out["gf"], out.get("mouth"))


def spec_frames(n_video: int) -> int:
    """Spectrogram frames (8 ms) the model outputs for `n_video` frames at 25 fps."""
    return UPSAMPLE * int(n_video)


def word_tokens(words: Sequence[str]) -> np.ndarray:
    """Token ids of the words that are GRID words (others dropped)."""
    return np.array([WORD_INDEX[w] for w in words if w in WORD_INDEX], dtype=np.int64)


def augment(x: UtteranceInput, rng: np.random.Generator, noise: float = 0.01, time_mask: float = 0.0,
            shift_pixels: int = 0) -> UtteranceInput:
    """Per utterance: a horizontal flip (pictures mirrored; GF centroid x and orientation negated), noise, or
    nothing; then, when asked, the pictures translated by up to `shift_pixels` pixels (zero fill) and up to a
    `time_mask` fraction of the frames hidden (set to 0, the normalised mean) in two random spans."""
    choice = rng.integers(3)
    if choice == 0:
        gf = x.gf.copy()
        gf[:, list(LI.FLIP_GF_COLUMNS)] *= -1
        x = replace(x.pictures(lambda p: np.ascontiguousarray(p[..., ::-1])), gf=gf)
    elif choice == 1:
        x = x.frames_map(lambda a: (a + rng.normal(0, noise, a.shape)).astype(np.float32))
    if shift_pixels > 0:
        dy, dx = rng.integers(-shift_pixels, shift_pixels + 1, 2)
        x = x.pictures(lambda p: shift_pictures(p, dy, dx))
    if time_mask > 0:
        x = mask_frames(x, rng, time_mask)
    return x


def change_speed(x: UtteranceInput, spec: np.ndarray, factor: float) -> tuple[UtteranceInput, np.ndarray]:
    """The utterance spoken `factor` times as long (> 1: slower): lips and spectrogram frames (N, bins) both
    linearly resampled in time (the spectrogram's channels, so its pitch, unchanged)."""
    n, n_spec = x.frames, len(spec)
    m = max(MIN_FRAMES, int(round(n * factor)))
    m_spec = max(1, int(round(n_spec * m / n)))
    def stretch(a: np.ndarray, k: int) -> np.ndarray:
        return interp_frames(a, np.arange(len(a), dtype=np.float64), np.linspace(0, len(a) - 1, k))

    return x.frames_map(lambda a: stretch(a, m)), stretch(spec, m_spec)


def shift_pictures(gp: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Pictures (T, H, W) translated by (dy, dx) pixels, the uncovered border set to 0."""
    out = np.zeros_like(gp)
    h, w = gp.shape[1:]
    src = gp[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[:, max(0, dy):max(0, dy) + src.shape[1], max(0, dx):max(0, dx) + src.shape[2]] = src
    return out


def mask_frames(x: UtteranceInput, rng: np.random.Generator, fraction: float, spans: int = 2) -> UtteranceInput:
    """`spans` random spans covering at most `fraction` of the frames in all, set to 0 in every input."""
    n = x.frames
    longest = int(fraction * n / spans)
    if longest < 1:
        return x
    hidden = np.zeros(n, bool)
    for _ in range(spans):
        width = int(rng.integers(0, longest + 1))
        start = int(rng.integers(0, n - width + 1))
        hidden[start:start + width] = True
    return x.frames_map(lambda a: np.where(hidden.reshape((n,) + (1,) * (a.ndim - 1)), 0, a).astype(a.dtype))


# ---- dataset -----------------------------------------------------------------------------------


class UtteranceDataset(Dataset):
    """(input, compressed target spectrogram, word tokens) of whole utterances, through an LRU cache.

    `load(key)` returns an item mapping (aud, lips, speaker, words); `lips_from` maps a key to the key whose lips
    are used (the shuffled-lips control). `groups` (one utterance each) lets BlockShuffleSampler order it.
    """

    def __init__(self, keys: Sequence[str], load: Callable[[str], Mapping[str, Any]],
                 stats: Mapping[str, LI.NormStats], augment: bool = False, seed: int = 0, cache_size: int = 64,
                 lips_from: Mapping[str, str] | None = None, time_mask: float = 0.0,
                 shift_pixels: int = 0, speed: float = 0.0, mouth: bool = False) -> None:
        self.keys, self.load, self.stats, self.mouth = list(keys), load, stats, mouth
        self.do_augment, self.seed, self.epoch = augment, seed, 0
        self.time_mask, self.shift_pixels, self.speed = time_mask, shift_pixels, speed
        self.lips_from = dict(lips_from or {})
        self.groups = [[i] for i in range(len(self.keys))]
        self.cache = DS.LRU(cache_size)

    def __len__(self) -> int:
        return len(self.keys)

    def _utterance(self, i: int) -> tuple[UtteranceInput, np.ndarray, np.ndarray]:
        key = self.keys[i]
        item = self.load(key)
        src = self.lips_from.get(key, key)
        lips_item = item if src == key else self.load(src)
        x = utterance_input(lips_item["lips"], self.stats, lips_item["speaker"], self.mouth)
        return x, W.compress(np.asarray(item["aud"], np.float32)), word_tokens(item.get("words", ()))

    def __getitem__(self, i: int) -> dict[str, Any]:
        x, y, tokens = self.cache.get(i, lambda: self._utterance(i))
        if self.do_augment:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            x = augment(x, rng, time_mask=self.time_mask, shift_pixels=self.shift_pixels)
            if self.speed > 0:
                x, y = change_speed(x, y, float(rng.uniform(1 - self.speed, 1 + self.speed)))
        sample = {"gp": x.gp, "gf": x.gf, "spec": y, "tokens": tokens}
        if x.mouth is not None:
            sample["mouth"] = x.mouth
        return sample

    @staticmethod
    def collate(batch: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """Padded batch (see `collate`)."""
        return collate(batch)


def collate(batch: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
    """Pad a list of samples: gp (B, T, H, W), gf (B, T, 7), lengths (B,), spec (B, 5T, bins), spec_lengths
    (B,: target frames inside the model output), tokens (B, L), token_lengths (B,) and, when the samples have
    it, mouth (B, T, h, w)."""
    b = len(batch)
    t_max = max(len(s["gf"]) for s in batch)
    gp = np.zeros((b, t_max) + batch[0]["gp"].shape[1:], np.float32)
    gf = np.zeros((b, t_max, batch[0]["gf"].shape[1]), np.float32)
    spec = np.zeros((b, spec_frames(t_max), batch[0]["spec"].shape[1]), np.float32)
    l_max = max(1, max(len(s["tokens"]) for s in batch))
    tokens = np.zeros((b, l_max), np.int64)
    lengths, spec_len, tok_len = (np.zeros(b, np.int64) for _ in range(3))
    for j, s in enumerate(batch):
        n = len(s["gf"])
        gp[j, :n], gf[j, :n], lengths[j] = s["gp"], s["gf"], n
        m = min(spec_frames(n), len(s["spec"]))
        spec[j, :m], spec_len[j] = s["spec"][:m], m
        tokens[j, :len(s["tokens"])], tok_len[j] = s["tokens"], len(s["tokens"])
    out = dict(gp=gp, gf=gf, lengths=lengths, spec=spec, spec_lengths=spec_len, tokens=tokens, token_lengths=tok_len)
    if "mouth" in batch[0]:
        out["mouth"] = np.zeros((b, t_max) + batch[0]["mouth"].shape[1:], np.float32)
        for j, s in enumerate(batch):
            out["mouth"][j, :len(s["mouth"])] = s["mouth"]
    return {k: torch.from_numpy(v) for k, v in out.items()}


# ---- read-out ----------------------------------------------------------------------------------


def greedy_words(logp: np.ndarray) -> list[str]:
    """Best-path CTC decoding of (T, vocab) log-probabilities into words."""
    ids = logp.argmax(1)
    out, prev = [], 0
    for i in ids:
        if i != prev and i != 0:
            out.append(VOCAB[i])
        prev = i
    return out


def grid_words(logp: np.ndarray) -> list[str]:
    """The GRID sentence(s) (one word per slot, in slot order; a long video may say several sentences one after
    another) with the best CTC path through (T, vocab) log-probabilities: Viterbi over blank / word states of
    the six slots, where the end of a sentence may lead into the first slot again."""
    slots = [[WORD_INDEX[w] for _, w in pairs] for pairs in SLOTS.values()]
    last = len(slots) - 1
    neg = -np.inf
    # word[k]: best score ending in a word of slot k (per word); blank[k]: in the blank after slot k-1
    word = [np.full(len(s), neg) for s in slots]
    word_path: list[list[tuple[int, ...]]] = [[() for _ in s] for s in slots]
    blank = [neg] * (len(slots) + 1)
    blank_path: list[tuple[int, ...]] = [()] * (len(slots) + 1)
    blank[0] = 0.0
    for t in range(len(logp)):
        lp = logp[t]
        new_word, new_word_path = [], []
        new_blank, new_blank_path = [neg] * len(blank), [()] * len(blank)
        # the end of a sentence (its last word or the blank after it) may start the next one
        j_end = int(word[last].argmax())
        end, end_path = max(((float(word[last][j_end]), word_path[last][j_end]), (blank[-1], blank_path[-1])),
                            key=lambda c: c[0])
        for k, ids in enumerate(slots):
            entry, entry_path = blank[k], blank_path[k]
            if k:
                j_prev = int(word[k - 1].argmax())
                if word[k - 1][j_prev] > entry:
                    entry, entry_path = float(word[k - 1][j_prev]), word_path[k - 1][j_prev]
            elif end > entry:
                entry, entry_path = end, end_path
            stay = word[k]
            scores = np.maximum(stay, entry) + lp[ids]
            new_word.append(scores)
            new_word_path.append([word_path[k][j] if stay[j] >= entry else entry_path + (ids[j],)
                                  for j in range(len(ids))])
        for k in range(len(blank)):
            cands = [(blank[k], blank_path[k])]
            if k:
                j = int(word[k - 1].argmax())
                cands.append((float(word[k - 1][j]), word_path[k - 1][j]))
            else:
                cands.append((end, end_path))
            sc, p = max(cands, key=lambda c: c[0])
            new_blank[k], new_blank_path[k] = sc + lp[0], p
        word, word_path, blank, blank_path = new_word, new_word_path, new_blank, new_blank_path
    j = int(word[last].argmax())
    best, path = (float(word[last][j]), word_path[last][j])
    if blank[-1] > best:
        best, path = blank[-1], blank_path[-1]
    if not np.isfinite(best):
        return greedy_words(logp)
    return [VOCAB[i] for i in path]
