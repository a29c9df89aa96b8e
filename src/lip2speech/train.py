"""Train the autoencoder and the lip-to-speech systems with Lightning: seeded, resumable, logged.

A run folder holds config.yaml (resolved), split.json, model.ckpt (best validation loss; self-contained: model
name, constructor arguments, normalisation statistics, windowing, the autoencoder's weights), last.ckpt
(resume point), metrics.csv, tb/ (TensorBoard) and summary.json (written when training finished).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import yaml

from . import data as D
from .config import load_config, to_dict
from .errors import Lip2SpeechError
from .features import check_features_config, load_item, load_manifest
from .fileio import write_json, write_text
from .models import INPUT_KIND, MODELS, WINDOW_SLICES, build_model, param_count

CONFIG_DIR = Path(__file__).parent / "configs"
TASKS = ("sentence", "words")  # what a training sample is: a window of an utterance, or an aligned word


@dataclass
class AutoencoderConfig:
    """How the autoencoder of a system is trained (or which finished run is reused)."""

    run: str = ""  # reuse this autoencoder run folder; empty: train/reuse one beside the system's run
    max_epochs: int = 60
    lr: float = 1e-3
    batch_utterances: int = 4  # a batch is all frames of this many utterances (~375 frames each)
    early_stop_patience: int = 8
    model: dict = field(default_factory=dict)  # Autoencoder constructor arguments


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved resolved as config.yaml in the run folder)."""

    system: str = "gf2s"
    task: str = "sentence"  # sentence: windows of whole utterances; words: aligned word segments, 2 slices each
    speakers: tuple[str, ...] = ()  # empty: all speakers of the features folder
    test_speakers: tuple[str, ...] = ()  # non-empty: unseen-speaker split (these speakers are the test set)
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    seed: int = 0
    max_epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-4
    lr_factor: float = 0.2
    lr_patience: int = 4
    early_stop_patience: int = 10
    augment: bool = True
    shuffle_lips: bool = False  # control experiment: pair each utterance's spectrogram with another's lips
    cache_utterances: int = 32  # LRU cache of prepared utterances (bounds memory)
    threads: int = 1  # torch threads; 0: all usable cores (1 avoids oversubscription on a shared CPU)
    legacy_decompress: bool = False  # reproduce the published power-3 decompression bug
    model: dict = field(default_factory=dict)  # system constructor arguments (sizes)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)


def load_train_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """TrainConfig from configs/train.yaml defaults, a YAML file (may name a `base`) and overrides.

    A packaged name (`fast`) resolves to its per-system variant (`fast-gf2s.yaml`) when one exists for the
    system named in `overrides`.
    """
    from .config import _merge, read_yaml

    data = read_yaml(CONFIG_DIR / "train.yaml")
    if path:
        p = Path(path)
        system = (overrides or {}).get("system")
        if not p.is_file() and system and (CONFIG_DIR / f"{path}-{system}.yaml").is_file():
            p = CONFIG_DIR / f"{path}-{system}.yaml"
        elif not p.is_file() and (CONFIG_DIR / f"{path}.yaml").is_file():  # a packaged config by name
            p = CONFIG_DIR / f"{path}.yaml"
        data = _merge(data, read_yaml(p))
    if overrides:
        data = _merge(data, overrides)
    from .config import from_dict

    cfg = from_dict(TrainConfig, data, str(path or "configs/train.yaml"))
    if cfg.system not in MODELS:
        raise Lip2SpeechError(f"unknown system {cfg.system!r} (choose from {', '.join(MODELS)})", path)
    if cfg.task not in TASKS:
        raise Lip2SpeechError(f"unknown task {cfg.task!r} (choose from {', '.join(TASKS)})", path)
    return cfg


# ---- loss ---------------------------------------------------------------------------------------


def corr2_torch(pred: torch.Tensor, target: torch.Tensor, per_sample: bool = True) -> torch.Tensor:
    """Pearson correlation over all cells, per sample (B,) or over the whole batch (scalar)."""
    p = pred.reshape(pred.shape[0], -1) if per_sample else pred.reshape(1, -1)
    t = target.reshape(target.shape[0], -1) if per_sample else target.reshape(1, -1)
    p = p - p.mean(1, keepdim=True)
    t = t - t.mean(1, keepdim=True)
    return (p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1) + 1e-8)


def corr_mse_loss(pred: torch.Tensor, target: torch.Tensor, per_sample: bool = True) -> torch.Tensor:
    """-corr2 + MSE (the published loss)."""
    return -corr2_torch(pred, target, per_sample).mean() + torch.mean((pred - target) ** 2)


# ---- Lightning module ---------------------------------------------------------------------------


def _lightning():
    import lightning.pytorch as pl

    return pl


def make_module(system: str, model_kwargs: dict, ae_kwargs: dict, lr: float, lr_factor: float,
                lr_patience: int, meta: dict):
    """The LightningModule training `system` (the autoencoder itself, or a system on frozen AE codes)."""
    pl = _lightning()

    class Lip2SpeechModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.system, self.lr, self.lr_factor, self.lr_patience = system, lr, lr_factor, lr_patience
            self.meta = meta
            self.net = build_model(system, **model_kwargs)
            self.ae = None if system == "autoencoder" else build_model("autoencoder", **ae_kwargs)
            if self.ae is not None:
                self.ae.requires_grad_(False)

        def _step(self, batch: Any, stage: str) -> torch.Tensor:
            if self.system == "autoencoder":
                rec, code = self.net(batch)
                loss = corr_mse_loss(rec, batch, per_sample=False) + (self.net.penalty(code) if stage == "train" else 0)
                corr = corr2_torch(rec, batch, per_sample=False).mean()
                n = batch.shape[0]
            else:
                x, y = batch
                self.ae.eval()
                with torch.no_grad():
                    target = self.ae.encode(y)
                pred = self.net(x)
                loss = corr_mse_loss(pred, target)
                corr = corr2_torch(pred, target).mean()
                if stage == "train":
                    loss = loss + self.net.penalty()
                n = x.shape[0]
            self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n)
            self.log(f"{stage}_corr2", corr, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n)
            return loss

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return self._step(batch, "train")

        def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return self._step(batch, "val")

        def configure_optimizers(self) -> Any:
            opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=self.lr_factor, patience=self.lr_patience)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}

        def on_save_checkpoint(self, checkpoint: dict) -> None:
            checkpoint["lip2speech"] = self.meta

    return Lip2SpeechModule()


def _epoch_timer():
    pl = _lightning()

    class EpochTimer(pl.Callback):
        """Logs the wall time of every training epoch (s) as `epoch_seconds`."""

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            self.t0 = time.perf_counter()

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            module.log("epoch_seconds", time.perf_counter() - self.t0, on_epoch=True)

    return EpochTimer()


# ---- helpers ------------------------------------------------------------------------------------


def _hash(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]


def select_keys(manifest: dict[str, dict], speakers: Sequence[str], features_dir: Path) -> list[str]:
    """Keys of the manifest restricted to `speakers` (all when empty); error if a speaker is missing."""
    have = {e["speaker"] for e in manifest.values()}
    missing = [s for s in speakers if s not in have]
    if missing:
        raise Lip2SpeechError(f"speakers not in the features folder: {', '.join(missing)}", features_dir)
    keys = [k for k, e in manifest.items() if not speakers or e["speaker"] in speakers]
    if not keys:
        raise Lip2SpeechError("no utterances to train on", features_dir)
    return keys


def make_split(cfg: TrainConfig, features_dir: Path) -> dict[str, list[str]]:
    """The deterministic train/val/test split of the run."""
    manifest = load_manifest(features_dir)
    keys = select_keys(manifest, tuple(cfg.speakers) + tuple(cfg.test_speakers) if cfg.speakers else (), features_dir)
    split = D.split_keys(keys, cfg.test_fraction, cfg.val_fraction, cfg.test_speakers, cfg.seed)
    if not split["train"] or not split["val"]:
        raise Lip2SpeechError("too few utterances for a train/validation split", features_dir)
    return split


def _autoencoder_dir(cfg: TrainConfig, features_dir: Path, out_dir: Path) -> Path:
    if cfg.autoencoder.run:
        return Path(cfg.autoencoder.run)
    tag = _hash({"features": str(features_dir.resolve()), "speakers": cfg.speakers,
                 "test_speakers": cfg.test_speakers, "split": [cfg.test_fraction, cfg.val_fraction, cfg.seed],
                 "ae": to_dict(cfg.autoencoder), "lr": [cfg.lr_factor, cfg.lr_patience],
                 "legacy": cfg.legacy_decompress})
    return out_dir.parent / f"autoencoder-{tag}"


def _resolved(cfg: TrainConfig, features_dir: Path, ae_dir: Path | None) -> dict[str, Any]:
    d = to_dict(cfg)
    if ae_dir is not None:
        d["autoencoder"]["run"] = str(ae_dir)
    d["features"] = str(features_dir.resolve())
    return d


def _check_run_folder(out_dir: Path, resolved: dict[str, Any]) -> None:
    """Refuse to resume a run folder that was made with another configuration or features folder."""
    path = out_dir / "config.yaml"
    if not path.is_file():
        return
    old = yaml.safe_load(path.read_text()) or {}
    old.setdefault("task", "sentence")  # run folders made before the task existed
    ignore = {"threads", "cache_utterances"}
    diff = sorted(k for k in set(old) | set(resolved) if k not in ignore and old.get(k) != resolved.get(k))
    if diff:
        raise Lip2SpeechError(
            f"run folder was trained with another configuration (differs in: {', '.join(diff)}); "
            "use a new --out or the same settings", out_dir)


def _input_shape(kind: str, features_dir: Path, key: str) -> dict[str, int]:
    if kind == "gf":
        return {}
    arr = load_item(features_dir, key)["lips"][kind]
    return {"height": int(arr.shape[1]), "width": int(arr.shape[2])}


def model_kwargs_for(cfg: TrainConfig, features_dir: Path, key: str) -> dict[str, Any]:
    """Constructor arguments of the system: window sizes and input shape from the data, sizes from the config."""
    ws = WINDOW_SLICES[cfg.system]
    kw: dict[str, Any] = {"frames": ws * D.SLICE_FRAMES, "out_frames": ws * D.SLICE_SPEC}
    kw.update(_input_shape(INPUT_KIND[cfg.system], features_dir, key))
    kw.update(cfg.model)
    return kw


def _loader(ds: Any, batch_size: int, sampler: Any = None, collate: Any = None):
    from torch.utils.data import DataLoader

    return DataLoader(ds, batch_size=batch_size, sampler=sampler, collate_fn=collate, num_workers=0)


def _quiet_lightning() -> None:
    """Keep training logs readable: drop Lightning's banner lines and warnings that are expected here."""
    import logging
    import warnings

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for msg in (".*exists and is not empty.*", ".*does not have many workers.*", ".*LeafSpec.*",
                ".*Previous log files in this directory.*", ".*litlogger.*", ".*smaller than the logging interval.*"):
        warnings.filterwarnings("ignore", message=msg)


# ---- entry point --------------------------------------------------------------------------------


def train_system(cfg: TrainConfig, features_dir: str | Path, out_dir: str | Path, resume: bool = True,
                 show_progress: bool = True, callbacks: Sequence[Any] = ()) -> Path:
    """Train cfg.system on the prepared features into `out_dir` (resuming from last.ckpt); returns out_dir.

    A main system first trains (or reuses) its autoencoder. A run whose summary.json exists is reused as is.
    """
    pl = _lightning()
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    _quiet_lightning()
    features_dir, out_dir = Path(features_dir), Path(out_dir)
    feature_config = check_features_config(features_dir)
    is_ae = cfg.system == "autoencoder"
    ae_dir = None if is_ae else _autoencoder_dir(cfg, features_dir, out_dir)
    resolved = _resolved(cfg, features_dir, ae_dir)
    if resume:
        _check_run_folder(out_dir, resolved)
    elif out_dir.exists() and any(out_dir.glob("*.ckpt")):
        raise Lip2SpeechError("run folder already holds checkpoints; use resume or a new folder", out_dir)
    if (out_dir / "summary.json").is_file() and (out_dir / "model.ckpt").is_file():
        return out_dir

    if ae_dir is not None:  # train (or reuse) the autoencoder on the same speakers and split
        # Only what the autoencoder uses, so that every system on these speakers shares one autoencoder run.
        ae_cfg = TrainConfig(system="autoencoder", speakers=cfg.speakers, test_speakers=cfg.test_speakers,
                             test_fraction=cfg.test_fraction, val_fraction=cfg.val_fraction, seed=cfg.seed,
                             lr_factor=cfg.lr_factor, lr_patience=cfg.lr_patience, threads=cfg.threads,
                             legacy_decompress=cfg.legacy_decompress, cache_utterances=cfg.cache_utterances,
                             autoencoder=dataclasses.replace(cfg.autoencoder, run=""))
        if not (ae_dir / "model.ckpt").is_file() or not (ae_dir / "summary.json").is_file():
            if cfg.autoencoder.run:
                raise Lip2SpeechError("autoencoder run has no finished model.ckpt", ae_dir)
            train_system(ae_cfg, features_dir, ae_dir, resume=True, show_progress=show_progress)

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    split = make_split(cfg, features_dir)
    old_split = out_dir / "split.json"
    if old_split.is_file() and json.loads(old_split.read_text()) != split:
        raise Lip2SpeechError("split.json differs from the split of these features; use a new --out", out_dir)
    write_text(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    write_json(out_dir / "split.json", split)

    manifest = load_manifest(features_dir)
    counts = {k: e["frames"] for k, e in manifest.items()}
    skipped = 0
    load = lambda key: load_item(features_dir, key)  # noqa: E731
    meta: dict[str, Any] = {"system": cfg.system, "feature_config": feature_config,
                            "legacy_decompress": cfg.legacy_decompress, "config": resolved}
    if is_ae:
        model_kwargs = dict(cfg.autoencoder.model)
        ae_kwargs: dict[str, Any] = {}
        train_ds = D.FrameDataset(split["train"], load)
        val_ds = D.FrameDataset(split["val"], load)
        gen = torch.Generator().manual_seed(cfg.seed)
        train_dl = _loader(train_ds, cfg.autoencoder.batch_utterances, torch.utils.data.RandomSampler(train_ds, generator=gen),
                           D.FrameDataset.collate)
        val_dl = _loader(val_ds, cfg.autoencoder.batch_utterances, None, D.FrameDataset.collate)
        lr, max_epochs, patience = cfg.autoencoder.lr, cfg.autoencoder.max_epochs, cfg.autoencoder.early_stop_patience
        meta.update(model_kwargs=model_kwargs)
    else:
        kind, ws = INPUT_KIND[cfg.system], WINDOW_SLICES[cfg.system]
        ae_ckpt = torch.load(ae_dir / "model.ckpt", map_location="cpu", weights_only=False)
        ae_kwargs = ae_ckpt["lip2speech"]["model_kwargs"]
        model_kwargs = model_kwargs_for(cfg, features_dir, split["train"][0])
        stats = D.compute_stats(kind, lambda: ((manifest[k]["speaker"], load(k)["lips"]) for k in split["train"]))
        if cfg.task == "words":
            train_ds, val_ds = _word_datasets(cfg, split, load, kind, stats, ws, features_dir)
            skipped = len(train_ds.skipped) + len(val_ds.skipped)
        else:
            lips_from = D.derangement(split["train"], cfg.seed) if cfg.shuffle_lips else None
            common = dict(counts=counts, load=load, kind=kind, stats=stats, window_slices=ws,
                          cache_size=cfg.cache_utterances)
            train_ds = D.WindowDataset(split["train"], augment=cfg.augment, seed=cfg.seed, lips_from=lips_from,
                                       **common)
            val_ds = D.WindowDataset(split["val"], **common)
        block = max(1, cfg.cache_utterances // 2)
        sampler = D.BlockShuffleSampler(train_ds.groups, block, cfg.seed, dataset=train_ds)
        train_dl = _loader(train_ds, cfg.batch_size, sampler)
        val_dl = _loader(val_ds, cfg.batch_size)
        lr, max_epochs, patience = cfg.lr, cfg.max_epochs, cfg.early_stop_patience
        meta.update(model_kwargs=model_kwargs, ae_kwargs=ae_kwargs, kind=kind, window_slices=ws,
                    stats=stats.to_dict(), autoencoder_run=str(ae_dir), task=cfg.task,
                    slices_per_word=D.SLICES_PER_WORD)

    module = make_module(cfg.system, model_kwargs, ae_kwargs, lr, cfg.lr_factor, cfg.lr_patience, meta)
    if not is_ae:  # start from the finished autoencoder's weights (frozen)
        ae_state = ae_ckpt["state_dict"]
        module.ae.load_state_dict({k[len("net."):]: v for k, v in ae_state.items() if k.startswith("net.")})
    meta["params"] = param_count(module.net)

    ckpt_cb = ModelCheckpoint(dirpath=out_dir, filename="model", monitor="val_loss", mode="min", save_top_k=1,
                              save_last=True, enable_version_counter=False)
    stop_cb = EarlyStopping(monitor="val_loss", mode="min", patience=patience)
    csv_logger = CSVLogger(out_dir, name="", version="")
    metrics_csv = out_dir / "metrics.csv"
    if metrics_csv.is_file():  # Lightning's CSV writer deletes an existing file: keep the earlier epochs
        old_rows = metrics_csv.read_text()
        writer = csv_logger.experiment
        write_text(metrics_csv, old_rows)
        if old_rows.strip():
            writer.metrics_keys = next(csv.reader([old_rows.splitlines()[0]]))
    trainer = pl.Trainer(
        max_epochs=max_epochs, accelerator="cpu", devices=1, deterministic=True,
        callbacks=[ckpt_cb, stop_cb, _epoch_timer(), *callbacks],
        logger=[csv_logger, TensorBoardLogger(out_dir, name="tb", version="")],
        enable_model_summary=False, enable_progress_bar=show_progress, log_every_n_steps=1,
        num_sanity_val_steps=0,
    )
    last = out_dir / "last.ckpt"
    ckpt_path = None
    if last.is_file():
        try:
            saved = torch.load(last, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a corrupt checkpoint
            raise Lip2SpeechError(f"corrupt checkpoint ({type(exc).__name__}); delete it to restart", last) from None
        if saved.get("lip2speech", {}).get("system") != cfg.system:
            raise Lip2SpeechError(f"checkpoint is not a {cfg.system} checkpoint; use a new --out", last)
        ckpt_path = str(last)
    t0 = time.perf_counter()
    try:
        trainer.fit(module, train_dl, val_dl, ckpt_path=ckpt_path)
    except SystemExit:  # Lightning turns Ctrl-C into a graceful shutdown + exit
        raise Lip2SpeechError("training interrupted; run the same command again to resume from last.ckpt",
                              out_dir) from None
    except RuntimeError as exc:
        if "Error(s) in loading state_dict" in str(exc) or "size mismatch" in str(exc):
            raise Lip2SpeechError("checkpoint does not match the configured model; use a new --out", last) from None
        raise
    if trainer.interrupted:
        raise Lip2SpeechError("training interrupted; run the same command again to resume", out_dir)
    if not (out_dir / "model.ckpt").is_file():
        raise Lip2SpeechError("training produced no model.ckpt", out_dir)
    epochs = trainer.current_epoch
    write_json(out_dir / "summary.json", {
        "system": cfg.system, "params": meta["params"], "epochs": epochs,
        "best_val_loss": float(ckpt_cb.best_model_score) if ckpt_cb.best_model_score is not None else math.nan,
        "seconds_this_session": time.perf_counter() - t0,
        "train_utterances": len(split["train"]), "autoencoder_run": None if ae_dir is None else str(ae_dir),
        "task": cfg.task, "train_samples": len(train_ds), "skipped_no_alignment": skipped,
    })
    return out_dir


def _word_datasets(cfg: TrainConfig, split: dict[str, list[str]], load: Any, kind: str, stats: D.NormStats,
                   ws: int, features_dir: Path) -> tuple[D.WordDataset, D.WordDataset]:
    """Train/validation datasets of the words task (utterances without alignments skipped and reported)."""
    import sys

    if cfg.shuffle_lips:
        raise Lip2SpeechError("shuffle_lips is only available for the sentence task", features_dir)
    common = dict(load=load, kind=kind, stats=stats, window_slices=ws, cache_size=cfg.cache_utterances)
    train_ds = D.WordDataset(split["train"], augment=cfg.augment, seed=cfg.seed, **common)
    val_ds = D.WordDataset(split["val"], **common)
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
        w = D.interp_matrix(np.linspace(0, 1, len(aud)), np.linspace(0, 1, n_frames))
        acc += w @ aud
    return (acc / max(len(keys), 1)).astype(np.float32)
