"""Train/validation/test splits of utterance keys: ours (seeded fractions per speaker, or unseen speakers) and the
study's (first 100 videos per speaker, 80/20), and the derangement of the shuffled-lips control."""

from __future__ import annotations

import collections
import hashlib
from typing import Sequence

import numpy as np

from ..errors import Lip2SpeechError


SPLIT_PROTOCOLS = ("ours", "study")  # see split_keys


STUDY_VIDEOS = 100  # the study's split: the first 100 videos of each speaker ...


STUDY_TRAIN = 80  # ... of which the first 80 train; of the last 20 the first 10 validate and all 20 test


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
    from ..corpus.records import natural_key

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


def derangement(keys: Sequence[str], seed: int = 0) -> dict[str, str]:
    """Map every key to a different key (a seeded cyclic shift of a shuffled order): the shuffled-lips control."""
    keys = list(keys)
    if len(keys) < 2:
        return {k: k for k in keys}
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    return {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}


def fixed_test_split(keys: Sequence[str], test: Sequence[str], val_fraction: float = 0.0, seed: int = 0,
                     train_clips: int = 0) -> dict[str, list[str]]:
    """Split with a given test set: the keys in `test` test, the others split into validation and training as
    split_keys does; train_clips > 0 keeps that many training keys (a seeded draw, for data-scaling runs)."""
    held = set(test)
    rest = split_keys([k for k in keys if k not in held], 0.0, val_fraction, seed=seed)
    train = rest["train"]
    if train_clips > 0:
        train = sorted(sorted(train, key=lambda k: _rank(k, seed))[:train_clips])
    return {"train": train, "val": rest["val"], "test": sorted(k for k in keys if k in held)}
