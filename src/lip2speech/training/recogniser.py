"""Train, save and load the spectrogram word recogniser of the recognisability objective (models.recogniser).

One owner of its file, `recogniser.pt`: {"kwargs", "state_dict", "epochs", "train_keys", "val_wacc", "seed"}.
Training resumes from `recogniser.pt.partial` (written after every epoch), and the final file appears only when
training is finished.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..data import windows as W
from ..data.store import load_item
from ..data.utterance import VOCAB, grid_words, word_tokens
from ..errors import Lip2SpeechError
from ..fileio import atomic_path
from ..models.recogniser import SpecRecogniser
from .losses import ctc_loss


def _examples(features_dir: Path, keys: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(compressed spectrogram (T, bins), word tokens) of every key that has a transcript."""
    out = []
    for k in keys:
        item = load_item(features_dir, k)
        if item.get("words"):
            out.append((W.compress(np.asarray(item["aud"], np.float32)), word_tokens(item["words"])))
    return out


def _batch(examples: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, torch.Tensor]:
    t = max(len(s) for s, _ in examples)
    l_max = max(len(w) for _, w in examples)
    spec = np.zeros((len(examples), t, examples[0][0].shape[1]), np.float32)
    tokens = np.zeros((len(examples), l_max), np.int64)
    lengths, tok_len = np.zeros(len(examples), np.int64), np.zeros(len(examples), np.int64)
    for j, (s, w) in enumerate(examples):
        spec[j, :len(s)], lengths[j] = s, len(s)
        tokens[j, :len(w)], tok_len[j] = w, len(w)
    return {k: torch.from_numpy(v) for k, v in dict(spec=spec, lengths=lengths, tokens=tokens,
                                                   token_lengths=tok_len).items()}


def _mask(spec: torch.Tensor, rng: np.random.Generator, time_frames: int = 20, bins: int = 16) -> torch.Tensor:
    """SpecAugment-style: zero one random span of time frames and one of channels per utterance."""
    spec = spec.clone()
    for j in range(spec.shape[0]):
        t0 = int(rng.integers(0, max(1, spec.shape[1] - time_frames)))
        f0 = int(rng.integers(0, max(1, spec.shape[2] - bins)))
        spec[j, t0:t0 + int(rng.integers(0, time_frames + 1))] = 0
        spec[j, :, f0:f0 + int(rng.integers(0, bins + 1))] = 0
    return spec


def ctc_of(model: SpecRecogniser, spec: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
           token_lengths: torch.Tensor) -> torch.Tensor:
    """CTC loss of the words in spectrograms `spec` (B, T, bins) of `lengths` frames."""
    return ctc_loss(model(spec, lengths), SpecRecogniser.out_lengths(lengths), tokens, token_lengths)


def recognise(model: SpecRecogniser, spec: np.ndarray) -> list[str]:
    """The GRID words the recogniser reads in one compressed spectrogram (T, bins)."""
    with torch.no_grad():
        logp = model(torch.from_numpy(np.asarray(spec, np.float32))[None], torch.tensor([len(spec)]))[0]
    return grid_words(logp.numpy())


def word_accuracy_of(model: SpecRecogniser, features_dir: str | Path, keys: Sequence[str]) -> float:
    """Mean word accuracy of the recogniser on the true spectrograms of `keys` (those with transcripts)."""
    model.eval()
    # GRID read-outs have one word per slot: word accuracy is the fraction of slots read right
    scores = [np.mean([VOCAB[i] == h for i, h in zip(w, recognise(model, s))])
              for s, w in _examples(Path(features_dir), keys)]
    return float(np.mean(scores)) if scores else float("nan")


def recogniser_split(features_dir: str | Path, held_out: Sequence[str], seed: int = 0) -> dict[str, list[str]]:
    """The recogniser's clips: every clip of the features folder but `held_out` (as "test", never read), 10% of
    the rest (seeded) to validate."""
    from ..data.splits import fixed_test_split
    from ..data.store import FeatureStore

    return fixed_test_split(FeatureStore(features_dir).keys(), held_out, val_fraction=0.1, seed=seed)


def train_recogniser(features_dir: str | Path, train_keys: Sequence[str], val_keys: Sequence[str],
                     out: str | Path, epochs: int = 40, batch_size: int = 16, lr: float = 2e-3, seed: int = 0,
                     log: Callable[[str], None] = print, **model_kwargs: Any) -> Path:
    """Train the recogniser on the true spectrograms of `train_keys` into `out` (recogniser.pt), resuming from
    its `.partial` file; returns `out`. Each epoch logs its loss, rate and ETA."""
    features_dir, out = Path(features_dir), Path(out)
    if out.is_file():
        return out
    train = _examples(features_dir, train_keys)
    if len(train) < 2:
        raise Lip2SpeechError("the recogniser needs at least 2 training clips with transcripts", features_dir)
    torch.manual_seed(seed)
    model = SpecRecogniser(bins=train[0][0].shape[1], vocab=len(VOCAB), **model_kwargs)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * int(np.ceil(len(train) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    partial, start = out.with_name(out.name + ".partial"), 0
    if partial.is_file():
        state = torch.load(partial, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"]), opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start = int(state["epoch"])
        log(f"recogniser: resuming at epoch {start} of {epochs}")
    t0 = time.perf_counter()
    for epoch in range(start, epochs):
        model.train()
        rng = np.random.default_rng((seed, epoch))
        order, losses = rng.permutation(len(train)), []
        for b in range(0, len(order), batch_size):
            batch = _batch([train[i] for i in order[b:b + batch_size]])
            loss = ctc_of(model, _mask(batch["spec"], rng), batch["lengths"], batch["tokens"],
                          batch["token_lengths"])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        with atomic_path(partial) as tmp:
            torch.save({"state_dict": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "epoch": epoch + 1}, tmp)
        rate = (time.perf_counter() - t0) / (epoch + 1 - start)
        log(f"recogniser: epoch {epoch + 1}/{epochs}, CTC {np.mean(losses):.3f}, {rate:.1f} s/epoch, "
            f"ETA {rate * (epochs - epoch - 1):.0f} s")
    val_wacc = word_accuracy_of(model, features_dir, val_keys) if val_keys else float("nan")
    with atomic_path(out) as tmp:
        torch.save({"kwargs": model.kwargs, "state_dict": model.state_dict(), "epochs": epochs, "seed": seed,
                    "train_keys": list(train_keys), "val_wacc": val_wacc}, tmp)
    partial.unlink(missing_ok=True)
    log(f"recogniser: word accuracy on {len(val_keys)} validation clips' true spectrograms {val_wacc:.3f} -> {out}")
    return out


def load_recogniser(path: str | Path, frozen: bool = True) -> SpecRecogniser:
    """The recogniser of a recogniser.pt; `frozen`: no gradients to its weights, batch norm and dropout fixed
    (train mode otherwise, so that a GPU's RNN can pass gradients through it to the spectrogram)."""
    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("recogniser file not found (train it with benchmarks/recogniser.py)", path)
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = SpecRecogniser(**state["kwargs"])
    model.load_state_dict(state["state_dict"])
    if frozen:
        model.gru.dropout = 0.0
        model.train()
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.Dropout)):
                m.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model
