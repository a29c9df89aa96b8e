"""Streaming datasets of training samples (windows, words, spectrogram frames) over an LRU cache of prepared
utterances, and the rank-sharded samplers that keep each DDP process on its own block of utterances."""

from __future__ import annotations

import collections
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .lip_inputs import NormStats, augment, utterance_input, word_input
from .windows import (SLICES_PER_WORD, check_gf_input, compress, cut_windows, n_slices, slice_steps, spec_to_slices,
    target_windows, window_starts, word_samples, word_segments)


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
