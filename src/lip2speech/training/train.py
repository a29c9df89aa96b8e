"""Train the autoencoder and the lip-to-speech systems with Lightning: seeded, resumable, logged.

train_system is the entry point: it checks the run folder (run_folder.py), makes sure the autoencoder a
published system needs is trained (ensure_autoencoder), builds the module and its data for the system
(window_module.py for the windowed systems and the autoencoder, utterance_module.py for gu2s) and fits it
(fit.py, the only code touching Lightning's Trainer).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import yaml

from ..data import datasets as DS, lip_inputs as LI, splits as SP, windows as W
from ..data.store import FeatureStore, load_item
from ..errors import Lip2SpeechError
from ..fileio import write_json, write_text
from ..models import INPUT_KIND, UTTERANCE_SYSTEMS, WINDOW_SLICES, param_count
from .hardware import Hardware, resolve_hardware, set_threads
from .run_folder import (autoencoder_dir, check_run_folder, check_split, is_finished, resolved_config, resume_point,
                         write_split)
from .train_config import RUNTIME_KEYS, TrainConfig


def make_split(cfg: TrainConfig, store: FeatureStore) -> dict[str, list[str]]:
    """The deterministic train/val/test split of the run."""
    features_dir = store.path
    keys = store.keys(tuple(cfg.speakers) + tuple(cfg.test_speakers) if cfg.speakers else ())
    if not keys:
        raise Lip2SpeechError("no utterances to train on", features_dir)
    seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    if cfg.test_split:
        split = SP.fixed_test_split(keys, test_keys_from(cfg.test_split), cfg.val_fraction, seed, cfg.train_clips)
    else:
        split = SP.split_keys(keys, cfg.test_fraction, cfg.val_fraction, cfg.test_speakers, seed, cfg.split_protocol)
    if cfg.val_fraction <= 0 and cfg.system not in UTTERANCE_SYSTEMS:
        raise Lip2SpeechError(f"val_fraction 0 (no validation) is for the whole-utterance systems; {cfg.system} "
                              "picks its checkpoint and learning rate on validation", features_dir)
    if not split["train"] or (not split["val"] and cfg.val_fraction > 0):
        raise Lip2SpeechError("too few utterances for a train/validation split", features_dir)
    return split


def test_keys_from(source: str) -> list[str]:
    """The test keys of a split.json file, or of a shipped model's split.json (by name)."""
    from .run_folder import SPLIT_FILE, read_split
    from .shipped import resolve_run

    path = Path(source)
    if not path.is_file():
        path = resolve_run(source) / SPLIT_FILE
    if not path.is_file():
        raise Lip2SpeechError("test_split: no such split.json or shipped model", source)
    return read_split(path)["test"]


def _input_shape(kind: str, features_dir: Path, key: str) -> dict[str, int]:
    if kind == "gf":
        return {}
    arr = load_item(features_dir, key)["lips"][kind]
    return {"height": int(arr.shape[1]), "width": int(arr.shape[2])}


def model_kwargs_for(cfg: TrainConfig, features_dir: Path, key: str) -> dict[str, Any]:
    """Constructor arguments of the system: window sizes and input shape from the data, sizes from the config."""
    ws, kind = WINDOW_SLICES[cfg.system], INPUT_KIND[cfg.system]
    kw: dict[str, Any] = {"frames": ws * W.slice_steps(kind, cfg.gf_input), "out_frames": ws * W.SLICE_SPEC}
    if kind == "gf":
        kw["n_features"] = W.gf_width(cfg.gf_input)
    kw.update(_input_shape(INPUT_KIND[cfg.system], features_dir, key))
    kw.update(cfg.model)
    return kw


def _loader(ds: Any, batch_size: int, sampler: Any = None, collate: Any = None, *, hw: Hardware):
    """One process's DataLoader: its rank's shard of the samples (data.rank_shard; without a sampler, for
    validation, every sample at least once), an equal share of the global `batch_size`, hw's workers and
    pinned memory."""
    from torch.utils.data import DataLoader

    if sampler is not None and len(ds) < hw.world_size:
        raise Lip2SpeechError(f"{len(ds)} training samples cannot be shared by {hw.world_size} processes; "
                              "use fewer --devices")
    if sampler is None:
        sampler = DS.ShardSampler(len(ds), pad=True)
    elif not isinstance(sampler, (DS.BlockShuffleSampler, DS.ShardSampler)):
        sampler = DS.ShardSampler(sampler)
    return DataLoader(ds, batch_size=max(1, batch_size // hw.world_size), sampler=sampler, collate_fn=collate,
                      num_workers=hw.workers, pin_memory=hw.pin_memory)


def ensure_autoencoder(cfg: TrainConfig, features_dir: Path, ae_dir: Path, show_progress: bool = True) -> Path:
    """The finished autoencoder run of a published system's run: trained now on the same speakers and split if
    it is not there yet (a configured `autoencoder.run` must already be finished); returns its folder."""
    if is_finished(ae_dir):
        return ae_dir
    if cfg.autoencoder.run:
        raise Lip2SpeechError("autoencoder run has no finished model.ckpt", ae_dir)
    # Only what the autoencoder uses, so that every system on these speakers shares one autoencoder run.
    ae_cfg = TrainConfig(system="autoencoder", speakers=cfg.speakers, test_speakers=cfg.test_speakers,
                         test_fraction=cfg.test_fraction, val_fraction=cfg.val_fraction, seed=cfg.seed,
                         split_seed=cfg.split_seed,
                         split_protocol=cfg.split_protocol, lr_factor=cfg.lr_factor, lr_patience=cfg.lr_patience,
                         legacy_decompress=cfg.legacy_decompress,
                         autoencoder=dataclasses.replace(cfg.autoencoder, run=""))
    ae_cfg = dataclasses.replace(ae_cfg, **{k: getattr(cfg, k) for k in RUNTIME_KEYS})  # same machine use
    return train_system(ae_cfg, features_dir, ae_dir, resume=True, show_progress=show_progress)


def _autoencoder_training(cfg: TrainConfig, split: dict[str, list[str]], load: Any, hw: Hardware,
                          meta: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """(module, train loader, validation loader, train dataset, validation dataset) of an autoencoder run."""
    from .window_module import WindowModule

    train_ds, val_ds = DS.FrameDataset(split["train"], load), DS.FrameDataset(split["val"], load)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_dl = _loader(train_ds, cfg.autoencoder.batch_utterances,
                       torch.utils.data.RandomSampler(train_ds, generator=gen), DS.FrameDataset.collate, hw=hw)
    val_dl = _loader(val_ds, cfg.autoencoder.batch_utterances, None, DS.FrameDataset.collate, hw=hw)
    model_kwargs = dict(cfg.autoencoder.model)
    meta.update(model_kwargs=model_kwargs)
    module = WindowModule("autoencoder", model_kwargs, {}, cfg.autoencoder.lr, cfg.lr_factor, cfg.lr_patience, meta)
    return module, train_dl, val_dl, train_ds, val_ds


def _window_training(cfg: TrainConfig, split: dict[str, list[str]], load: Any, manifest: dict[str, dict],
                     features_dir: Path, ae_dir: Path, hw: Hardware, meta: dict[str, Any]
                     ) -> tuple[Any, Any, Any, Any, Any]:
    """(module, loaders, datasets) of a published system on windows of lips, its target the frozen codes of
    the finished autoencoder run in ae_dir (whose weights the module starts from)."""
    from .window_module import WindowModule

    kind, ws = INPUT_KIND[cfg.system], WINDOW_SLICES[cfg.system]
    ae_ckpt = torch.load(ae_dir / "model.ckpt", map_location="cpu", weights_only=False)
    ae_kwargs = ae_ckpt["lip2speech"]["model_kwargs"]
    model_kwargs = model_kwargs_for(cfg, features_dir, split["train"][0])
    stats = LI.compute_stats(kind, lambda: ((manifest[k]["speaker"], load(k)["lips"]) for k in split["train"]))
    if cfg.task == "words":
        train_ds, val_ds = _word_datasets(cfg, split, load, kind, stats, ws, features_dir)
    else:
        lips_from = SP.derangement(split["train"], cfg.seed) if cfg.shuffle_lips else None
        common = dict(counts={k: e["frames"] for k, e in manifest.items()}, load=load, kind=kind, stats=stats,
                      window_slices=ws, cache_size=cfg.cache_utterances, gf_input=cfg.gf_input)
        train_ds = DS.WindowDataset(split["train"], augment=cfg.augment, seed=cfg.seed, lips_from=lips_from, **common)
        val_ds = DS.WindowDataset(split["val"], **common)
    sampler = DS.BlockShuffleSampler(train_ds.groups, max(1, cfg.cache_utterances // 2), cfg.seed, dataset=train_ds)
    train_dl = _loader(train_ds, cfg.batch_size, sampler, hw=hw)
    val_dl = _loader(val_ds, cfg.batch_size, hw=hw)
    meta.update(model_kwargs=model_kwargs, ae_kwargs=ae_kwargs, kind=kind, window_slices=ws,
                stats=stats.to_dict(), autoencoder_run=str(ae_dir), task=cfg.task,
                slices_per_word=W.SLICES_PER_WORD, gf_input=cfg.gf_input)
    module = WindowModule(cfg.system, model_kwargs, ae_kwargs, cfg.lr, cfg.lr_factor, cfg.lr_patience, meta)
    # start from the finished autoencoder's weights (frozen)
    module.ae.load_state_dict({k[len("net."):]: v for k, v in ae_ckpt["state_dict"].items() if k.startswith("net.")})
    return module, train_dl, val_dl, train_ds, val_ds


def _utterance_training(cfg: TrainConfig, split: dict[str, list[str]], load: Any, manifest: dict[str, dict],
                        features_dir: Path, hw: Hardware, meta: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """(module, loaders, datasets) of a whole-utterance system (gu2s): padded batches of whole utterances."""
    from .utterance_module import utterance_training

    module, train_ds, val_ds = utterance_training(cfg, split, load, manifest, features_dir, meta)
    sampler = DS.BlockShuffleSampler(train_ds.groups, max(1, cfg.cache_utterances // 2), cfg.seed, dataset=train_ds)
    train_dl = _loader(train_ds, cfg.batch_size, sampler, train_ds.collate, hw=hw)
    val_dl = _loader(val_ds, cfg.batch_size, None, val_ds.collate, hw=hw) if len(val_ds) else None
    return module, train_dl, val_dl, train_ds, val_ds


def train_system(cfg: TrainConfig, features_dir: str | Path, out_dir: str | Path, resume: bool = True,
                 show_progress: bool = True, callbacks: Sequence[Any] = ()) -> Path:
    """Train cfg.system on the prepared features into `out_dir` (resuming from last.ckpt); returns out_dir.

    A published system first trains (or reuses) its autoencoder. A finished run folder is reused as is.
    """
    import lightning.pytorch as pl

    from .fit import fit_run, quiet_lightning

    quiet_lightning()
    features_dir, out_dir = Path(features_dir), Path(out_dir)
    hw = resolve_hardware(cfg)
    store = FeatureStore(features_dir)  # configuration and manifest read once for the whole run
    is_ae = cfg.system == "autoencoder"
    is_utt = cfg.system in UTTERANCE_SYSTEMS  # predicts the spectrogram itself: no autoencoder
    ae_dir = None if is_ae or is_utt else autoencoder_dir(cfg, features_dir, out_dir)
    resolved = resolved_config(cfg, features_dir, ae_dir)
    if resume:
        check_run_folder(out_dir, resolved)
    elif out_dir.exists() and any(out_dir.glob("*.ckpt")):
        raise Lip2SpeechError("run folder already holds checkpoints; use resume or a new folder", out_dir)
    if is_finished(out_dir):
        return out_dir
    if ae_dir is not None:
        ensure_autoencoder(cfg, features_dir, ae_dir, show_progress)

    set_threads(cfg.threads, hw)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    split = make_split(cfg, store)
    check_split(out_dir, split)
    manifest = store.manifest
    load = functools.partial(load_item, features_dir)  # picklable, for DataLoader workers
    meta: dict[str, Any] = {"system": cfg.system, "feature_config": store.config,
                            "legacy_decompress": cfg.legacy_decompress, "config": resolved}
    if is_ae:
        module, train_dl, val_dl, train_ds, val_ds = _autoencoder_training(cfg, split, load, hw, meta)
        max_epochs, patience = cfg.autoencoder.max_epochs, cfg.autoencoder.early_stop_patience
    elif is_utt:
        module, train_dl, val_dl, train_ds, val_ds = _utterance_training(cfg, split, load, manifest, features_dir,
                                                                          hw, meta)
        max_epochs, patience = cfg.max_epochs, cfg.early_stop_patience
    else:
        module, train_dl, val_dl, train_ds, val_ds = _window_training(cfg, split, load, manifest, features_dir,
                                                                       ae_dir, hw, meta)
        max_epochs, patience = cfg.max_epochs, cfg.early_stop_patience
    skipped = len(getattr(train_ds, "skipped", ())) + len(getattr(val_ds, "skipped", ()))  # words task only
    meta["params"] = param_count(module.net)

    def write_run_files() -> None:
        write_text(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
        write_split(out_dir, split)

    ckpt_path, start_epoch = resume_point(out_dir, cfg.system, module.state_dict())
    t0 = time.perf_counter()
    trainer, best = fit_run(module, train_dl, val_dl, out_dir, hw, max_epochs, patience, ckpt_path,
                            write_run_files, callbacks, show_progress, keep=cfg.keep)
    if not trainer.is_global_zero:
        return out_dir
    if not (out_dir / "model.ckpt").is_file():
        raise Lip2SpeechError("training produced no model.ckpt", out_dir)
    write_json(out_dir / "summary.json", {
        "system": cfg.system, "params": meta["params"], "epochs": trainer.current_epoch, "start_epoch": start_epoch,
        "hardware": dataclasses.asdict(hw), "best_val_loss": math.nan if best is None else best,
        "seconds_this_session": time.perf_counter() - t0,
        "train_utterances": len(split["train"]), "autoencoder_run": None if ae_dir is None else str(ae_dir),
        "task": cfg.task, "train_samples": len(train_ds), "skipped_no_alignment": skipped,
    })
    return out_dir


def _word_datasets(cfg: TrainConfig, split: dict[str, list[str]], load: Any, kind: str, stats: LI.NormStats,
                   ws: int, features_dir: Path) -> tuple[DS.WordDataset, DS.WordDataset]:
    """Train/validation datasets of the words task (utterances without alignments skipped and reported)."""
    import sys

    if cfg.shuffle_lips:
        raise Lip2SpeechError("shuffle_lips is only available for the sentence task", features_dir)
    common = dict(load=load, kind=kind, stats=stats, window_slices=ws, cache_size=cfg.cache_utterances,
                  gf_input=cfg.gf_input)
    train_ds = DS.WordDataset(split["train"], augment=cfg.augment, seed=cfg.seed, **common)
    val_ds = DS.WordDataset(split["val"], **common)
    skipped = len(train_ds.skipped) + len(val_ds.skipped)
    if not len(train_ds) or not len(val_ds):
        raise Lip2SpeechError("words task needs word alignments in the features; "
                              f"{skipped} of {len(split['train']) + len(split['val'])} train/validation "
                              "utterances have none", features_dir)
    if skipped:
        print(f"words task: skipped {skipped} train/validation utterance(s) without word alignments",
              file=sys.stderr)
    return train_ds, val_ds


def mean_spectrogram(features_dir: str | Path, keys: Sequence[str], n_frames: int = 375) -> np.ndarray:
    """Mean training spectrogram, time-aligned (each utterance resampled to n_frames), streamed from disk."""
    acc = np.zeros((n_frames, 128))
    for k in keys:
        aud = load_item(features_dir, k)["aud"]
        w = W.interp_matrix(np.linspace(0, 1, len(aud)), np.linspace(0, 1, n_frames))
        acc += w @ aud
    return (acc / max(len(keys), 1)).astype(np.float32)
