"""Train the autoencoder and the lip-to-speech systems with Lightning: seeded, resumable, logged.

A run folder holds config.yaml (resolved), split.json, model.ckpt (best validation loss; self-contained: model
name, constructor arguments, normalisation statistics, windowing, the autoencoder's weights), last.ckpt
(resume point), metrics.csv, tb/ (TensorBoard) and summary.json (written when training finished).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import math
import os
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
from .models import INPUT_KIND, MODELS, UTTERANCE_SYSTEMS, WINDOW_SLICES, build_model, param_count

CONFIG_DIR = Path(__file__).parent / "configs"
ACCELERATORS = ("auto", "cpu", "gpu", "mps")
PRECISIONS = ("32", "16-mixed", "bf16-mixed")
# Settings of how a run is computed, not of what it learns: a run folder resumes under other values.
RUNTIME_KEYS = ("threads", "cache_utterances", "accelerator", "devices", "strategy", "num_nodes", "precision",
                "workers")
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
    split_protocol: str = "ours"  # ours: the fractions above (random per seed); study: first 100 videos, 80/20
    gf_input: str = "study"  # gf2s input per slice: study (26 splined steps x 21 values) or frames (5 x 14)
    seed: int = 0
    max_epochs: int = 40
    batch_size: int = 32  # the whole batch: DDP processes take an equal share each
    lr: float = 1e-4
    lr_factor: float = 0.2
    lr_patience: int = 4
    early_stop_patience: int = 10
    augment: bool = True
    shuffle_lips: bool = False  # control experiment: pair each utterance's spectrogram with another's lips
    cache_utterances: int = 32  # LRU cache of prepared utterances (bounds memory)
    threads: int = 1  # torch threads; 0: all usable cores (1 avoids oversubscription on a shared CPU)
    accelerator: str = "auto"  # auto (a CUDA GPU when there is one, else the CPU), cpu, gpu or mps
    devices: int | str = "auto"  # auto: 1; N: N GPUs per node, or N CPU processes (DDP)
    strategy: str = "auto"  # Lightning strategy: auto (ddp for several devices), ddp, fsdp, ...
    num_nodes: int = 1  # machines of a DDP run (e.g. SLURM nodes)
    precision: str = "32"  # 32, 16-mixed (GPU) or bf16-mixed
    workers: int | str = "auto"  # DataLoader workers per process; auto: 0 on CPU, up to 4 on GPU
    legacy_decompress: bool = False  # reproduce the published power-3 decompression bug
    weight_decay: float = 0.01  # gu2s: AdamW weight decay (gu2s trains with AdamW and a one-cycle schedule)
    sharpness: float = 1.0  # gu2s: weight of the L1 of time/frequency differences (0: off)
    ctc_weight: float = 0.1  # gu2s: weight of the CTC word objective (0: off)
    linear_corr2: float = 0.0  # gu2s: weight of (1 - corr2) on the linear (decompressed) spectrogram
    envelope_corr: float = 0.0  # gu2s: weight of (1 - short-time band-envelope correlation), what STOI scores
    model: dict = field(default_factory=dict)  # system constructor arguments (sizes)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)


def load_train_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """TrainConfig from configs/train.yaml defaults, a YAML file (may name a `base`) and overrides.

    A packaged name (`fast`) resolves to its per-system variant (`fast-gf2s.yaml`) when one exists for the
    system named in `overrides`.
    """
    from .config import _merge, read_yaml

    data = read_yaml(CONFIG_DIR / "train.yaml")
    system = (overrides or {}).get("system")
    if str(path or "train") == "train" and system and (CONFIG_DIR / f"{system}.yaml").is_file():
        path = f"{system}"  # a system with its own defaults (gu2s.yaml) instead of the published train.yaml
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
    for name, value, allowed in (("gf_input", cfg.gf_input, D.GF_INPUTS),
                                 ("split_protocol", cfg.split_protocol, D.SPLIT_PROTOCOLS)):
        if value not in allowed:
            raise Lip2SpeechError(f"unknown {name} {value!r} (choose from {', '.join(allowed)})", path)
    if cfg.system in UTTERANCE_SYSTEMS and cfg.task != "sentence":
        raise Lip2SpeechError(f"{cfg.system} reads whole utterances; its word scores come from a sentence run "
                              "(task: sentence)", path)
    return cfg


# ---- hardware -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hardware:
    """Where and how a run computes, checked against this machine (resolve_hardware)."""

    accelerator: str = "cpu"  # cpu | gpu | mps
    devices: int = 1  # GPUs, or CPU processes, per node
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32"
    workers: int = 0  # DataLoader worker processes per training process

    @property
    def world_size(self) -> int:
        """Training processes in all: devices x nodes."""
        return self.devices * self.num_nodes

    @property
    def pin_memory(self) -> bool:
        """Page-locked batches (faster copies to a CUDA GPU)."""
        return self.accelerator == "gpu"


def resolve_hardware(cfg: TrainConfig) -> Hardware:
    """cfg's accelerator, devices, strategy, nodes, precision and workers for this machine; a one-line
    Lip2SpeechError for settings it cannot run (no GPU, too few GPUs, unknown values)."""
    accelerator = _accelerator(cfg.accelerator)
    devices = _devices(cfg.devices, accelerator)
    return Hardware(accelerator, devices, _strategy(cfg.strategy), _count("num_nodes", cfg.num_nodes, 1),
                    _precision(cfg.precision, accelerator), _workers(cfg.workers, accelerator, devices))


def _accelerator(name: str) -> str:
    name = {"cuda": "gpu"}.get(str(name).lower(), str(name).lower())
    if name not in ACCELERATORS:
        raise Lip2SpeechError(f"unknown accelerator {name!r} (choose from {', '.join(ACCELERATORS)})")
    # device_count, not is_available: it asks NVML and leaves CUDA uninitialised, so that processes forked
    # later (experiment --jobs, DataLoader workers) can still use CUDA
    gpus = torch.cuda.device_count()
    if name == "auto":
        return "gpu" if gpus else "cpu"
    if name == "gpu" and not gpus:
        raise Lip2SpeechError("accelerator gpu: no CUDA GPU is visible on this machine "
                              "(torch.cuda.device_count() is 0); use --accelerator cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise Lip2SpeechError("accelerator mps: Apple's Metal (MPS) backend is not available on this machine; "
                              "use --accelerator cpu or auto")
    return name


def _count(name: str, value: Any, minimum: int) -> int:
    """A whole number >= minimum from a config/CLI value (int or digits)."""
    text = str(value).strip()
    if not text.isdigit() or int(text) < minimum:
        raise Lip2SpeechError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(text)


def _devices(value: Any, accelerator: str) -> int:
    if str(value).strip().lower() == "auto":
        return 1
    n = _count("devices", value, 1)
    have = {"gpu": torch.cuda.device_count(), "mps": 1}.get(accelerator)
    if have is not None and n > have:
        raise Lip2SpeechError(f"devices {n}: this machine has {have} {accelerator.upper()} device(s); "
                              f"use --devices {have} or fewer")
    return n  # on the CPU, devices is the number of DDP processes: any number works


def _strategy(name: str) -> str:
    from lightning.pytorch.strategies import StrategyRegistry

    known = ["auto", *sorted(StrategyRegistry.available_strategies())]
    if name not in known:
        raise Lip2SpeechError(f"unknown strategy {name!r} (choose from {', '.join(known)})")
    if "spawn" in name:  # they pickle the module; make_module's class is local to the function
        raise Lip2SpeechError(f"strategy {name} is not supported (it pickles the training module); use ddp")
    return name


def _precision(value: Any, accelerator: str) -> str:
    p = str(value)
    if p not in PRECISIONS:
        raise Lip2SpeechError(f"unknown precision {p!r} (choose from {', '.join(PRECISIONS)})")
    if p == "16-mixed" and accelerator == "cpu":
        raise Lip2SpeechError("precision 16-mixed needs a GPU; on the CPU use 32 or bf16-mixed")
    return p


def _workers(value: Any, accelerator: str, devices: int) -> int:
    if str(value).strip().lower() != "auto":
        return _count("workers", value, 0)
    if accelerator != "gpu":
        return 0  # loading in the training process: today's one-core behaviour
    from .parallel import default_jobs

    return min(4, max(1, default_jobs() // devices - 1))  # leave a core per GPU process for the training loop


def training_jobs(hw: Hardware, requested: int, allow_shared_gpu: bool = False) -> int:
    """Training runs an experiment may train side by side: `requested` (0: all cores on the CPU, 1 on a GPU or
    under DDP); a one-line Lip2SpeechError for several runs on one GPU (unless allowed) or under DDP."""
    from .parallel import default_jobs

    if requested <= 0:
        return 1 if hw.accelerator != "cpu" or hw.world_size > 1 else default_jobs()
    if requested > 1 and hw.world_size > 1:
        raise Lip2SpeechError(f"--jobs {requested} trains runs side by side, which does not combine with DDP "
                              f"({hw.world_size} processes per run); use --jobs 1")
    if requested > 1 and hw.accelerator != "cpu" and not allow_shared_gpu:
        raise Lip2SpeechError(f"--jobs {requested} would train {requested} runs side by side on one "
                              f"{hw.accelerator.upper()}; use --jobs 1, or --allow-shared-gpu if it has the memory")
    return requested


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
            self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n,
                     sync_dist=True)
            self.log(f"{stage}_corr2", corr, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n,
                     sync_dist=True)
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
            module.log("epoch_seconds", time.perf_counter() - self.t0, on_epoch=True, sync_dist=True)

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
    split = D.split_keys(keys, cfg.test_fraction, cfg.val_fraction, cfg.test_speakers, cfg.seed,
                         cfg.split_protocol)
    if not split["train"] or not split["val"]:
        raise Lip2SpeechError("too few utterances for a train/validation split", features_dir)
    return split


def _autoencoder_dir(cfg: TrainConfig, features_dir: Path, out_dir: Path) -> Path:
    if cfg.autoencoder.run:
        return Path(cfg.autoencoder.run)
    tag = _hash({"features": str(features_dir.resolve()), "speakers": cfg.speakers,
                 "test_speakers": cfg.test_speakers, "split": [cfg.test_fraction, cfg.val_fraction, cfg.seed],
                 "ae": to_dict(cfg.autoencoder), "lr": [cfg.lr_factor, cfg.lr_patience],
                 "legacy": cfg.legacy_decompress,
                 # only when not the default, so that the autoencoder runs of earlier versions are reused
                 **({"split_protocol": cfg.split_protocol} if cfg.split_protocol != "ours" else {})})
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
    old.setdefault("split_protocol", "ours")  # ... or before the split protocol and the GF input existed
    old.setdefault("gf_input", "frames")
    resolved = dict(resolved)
    for key, value in to_dict(TrainConfig()).items():  # a setting missing on either side (added since): its default
        old.setdefault(key, value)
        resolved.setdefault(key, value)
    ignore = set(RUNTIME_KEYS)
    if resolved.get("system") != "gf2s":  # only GF2S reads the GF input
        ignore.add("gf_input")
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
    ws, kind = WINDOW_SLICES[cfg.system], INPUT_KIND[cfg.system]
    kw: dict[str, Any] = {"frames": ws * D.slice_steps(kind, cfg.gf_input), "out_frames": ws * D.SLICE_SPEC}
    if kind == "gf":
        kw["n_features"] = D.gf_width(cfg.gf_input)
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
        sampler = D.ShardSampler(len(ds), pad=True)
    elif not isinstance(sampler, (D.BlockShuffleSampler, D.ShardSampler)):
        sampler = D.ShardSampler(sampler)
    return DataLoader(ds, batch_size=max(1, batch_size // hw.world_size), sampler=sampler, collate_fn=collate,
                      num_workers=hw.workers, pin_memory=hw.pin_memory)


def build_trainer(hw: Hardware, max_epochs: int, callbacks: Sequence[Any], loggers: Sequence[Any],
                  show_progress: bool = True) -> Any:
    """The Lightning Trainer of a run on `hw`: the one place a Trainer is made."""
    pl = _lightning()
    return pl.Trainer(
        max_epochs=max_epochs, accelerator=hw.accelerator, devices=hw.devices, strategy=hw.strategy,
        num_nodes=hw.num_nodes, precision="32-true" if hw.precision == "32" else hw.precision,
        # CUDA has kernels without a deterministic variant: warn there instead of failing the run
        deterministic=True if hw.accelerator == "cpu" else "warn",
        use_distributed_sampler=False,  # our samplers shard by rank themselves, keeping block order and epochs
        sync_batchnorm=hw.accelerator == "gpu" and hw.world_size > 1,  # (SyncBatchNorm has no CPU version)
        callbacks=list(callbacks), logger=list(loggers),
        enable_model_summary=False, enable_progress_bar=show_progress, log_every_n_steps=1,
        num_sanity_val_steps=0,
    )


def _set_threads(threads: int, hw: Hardware) -> None:
    """Torch threads of every training process (0: Lightning's default, the cores shared by the processes)."""
    if threads > 0:
        torch.set_num_threads(threads)
        if hw.world_size > 1:  # Lightning's DDP launcher sets its own count unless OMP_NUM_THREADS is set
            os.environ["OMP_NUM_THREADS"] = str(threads)


def _keep_metrics(metrics_csv: Path, csv_logger: Any) -> None:
    """Lightning's CSV writer deletes an existing file: put back the rows of the earlier epochs."""
    if not metrics_csv.is_file():
        return
    old_rows = metrics_csv.read_text()
    writer = csv_logger.experiment
    write_text(metrics_csv, old_rows)
    if old_rows.strip():
        writer.metrics_keys = next(csv.reader([old_rows.splitlines()[0]]))


_LAUNCHERS: list[Any] = []  # Lightning launchers of this process: they hold the DDP processes it started


def _fit(trainer: Any, module: Any, train_dl: Any, val_dl: Any, ckpt_path: str | None, out_dir: Path) -> None:
    """trainer.fit; Ctrl-C and a checkpoint of another model become one-line errors. When it fails, the DDP
    processes this process started (for this fit or an earlier one, e.g. the autoencoder's) are stopped."""
    if hasattr(trainer.strategy.launcher, "procs"):
        _LAUNCHERS.append(trainer.strategy.launcher)
    try:
        # our own resume point (last.ckpt), validated above; run folders from before NormStats stored plain floats
        # hold numpy scalars that weights-only loading refuses
        trainer.fit(module, train_dl, val_dl, ckpt_path=ckpt_path, weights_only=False)
    except BaseException as exc:
        _stop_children()
        if isinstance(exc, SystemExit):  # Lightning turns Ctrl-C into a graceful shutdown + exit
            raise Lip2SpeechError("training interrupted; run the same command again to resume from last.ckpt",
                                  out_dir) from None
        if isinstance(exc, RuntimeError) and ("Error(s) in loading state_dict" in str(exc)
                                              or "size mismatch" in str(exc)):
            raise Lip2SpeechError("checkpoint does not match the configured model; use a new --out",
                                  ckpt_path or out_dir) from None
        raise


def _stop_children() -> None:
    for launcher in _LAUNCHERS:
        for proc in launcher.procs:
            if proc.poll() is None:
                proc.kill()


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
    hw = resolve_hardware(cfg)
    feature_config = check_features_config(features_dir)
    is_ae = cfg.system == "autoencoder"
    is_utt = cfg.system in UTTERANCE_SYSTEMS  # predicts the spectrogram itself: no autoencoder
    ae_dir = None if is_ae or is_utt else _autoencoder_dir(cfg, features_dir, out_dir)
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
                             split_protocol=cfg.split_protocol,
                             lr_factor=cfg.lr_factor, lr_patience=cfg.lr_patience, threads=cfg.threads,
                             legacy_decompress=cfg.legacy_decompress, cache_utterances=cfg.cache_utterances,
                             autoencoder=dataclasses.replace(cfg.autoencoder, run=""))
        ae_cfg = dataclasses.replace(ae_cfg, **{k: getattr(cfg, k) for k in RUNTIME_KEYS})  # same machine use
        if not (ae_dir / "model.ckpt").is_file() or not (ae_dir / "summary.json").is_file():
            if cfg.autoencoder.run:
                raise Lip2SpeechError("autoencoder run has no finished model.ckpt", ae_dir)
            train_system(ae_cfg, features_dir, ae_dir, resume=True, show_progress=show_progress)

    _set_threads(cfg.threads, hw)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    split = make_split(cfg, features_dir)
    old_split = out_dir / "split.json"
    if old_split.is_file() and json.loads(old_split.read_text()) != split:
        raise Lip2SpeechError("split.json differs from the split of these features; use a new --out", out_dir)

    manifest = load_manifest(features_dir)
    counts = {k: e["frames"] for k, e in manifest.items()}
    skipped = 0
    load = functools.partial(load_item, features_dir)  # picklable, for DataLoader workers
    meta: dict[str, Any] = {"system": cfg.system, "feature_config": feature_config,
                            "legacy_decompress": cfg.legacy_decompress, "config": resolved}
    if is_ae:
        model_kwargs = dict(cfg.autoencoder.model)
        ae_kwargs: dict[str, Any] = {}
        train_ds = D.FrameDataset(split["train"], load)
        val_ds = D.FrameDataset(split["val"], load)
        gen = torch.Generator().manual_seed(cfg.seed)
        train_dl = _loader(train_ds, cfg.autoencoder.batch_utterances, torch.utils.data.RandomSampler(train_ds, generator=gen),
                           D.FrameDataset.collate, hw=hw)
        val_dl = _loader(val_ds, cfg.autoencoder.batch_utterances, None, D.FrameDataset.collate, hw=hw)
        lr, max_epochs, patience = cfg.autoencoder.lr, cfg.autoencoder.max_epochs, cfg.autoencoder.early_stop_patience
        meta.update(model_kwargs=model_kwargs)
    elif is_utt:
        from .utterance_module import utterance_training

        module, train_ds, val_ds = utterance_training(cfg, split, load, manifest, features_dir, meta)
        sampler = D.BlockShuffleSampler(train_ds.groups, max(1, cfg.cache_utterances // 2), cfg.seed,
                                        dataset=train_ds)
        train_dl = _loader(train_ds, cfg.batch_size, sampler, train_ds.collate, hw=hw)
        val_dl = _loader(val_ds, cfg.batch_size, None, val_ds.collate, hw=hw)
        lr, max_epochs, patience = cfg.lr, cfg.max_epochs, cfg.early_stop_patience
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
                          cache_size=cfg.cache_utterances, gf_input=cfg.gf_input)
            train_ds = D.WindowDataset(split["train"], augment=cfg.augment, seed=cfg.seed, lips_from=lips_from,
                                       **common)
            val_ds = D.WindowDataset(split["val"], **common)
        block = max(1, cfg.cache_utterances // 2)
        sampler = D.BlockShuffleSampler(train_ds.groups, block, cfg.seed, dataset=train_ds)
        train_dl = _loader(train_ds, cfg.batch_size, sampler, hw=hw)
        val_dl = _loader(val_ds, cfg.batch_size, hw=hw)
        lr, max_epochs, patience = cfg.lr, cfg.max_epochs, cfg.early_stop_patience
        meta.update(model_kwargs=model_kwargs, ae_kwargs=ae_kwargs, kind=kind, window_slices=ws,
                    stats=stats.to_dict(), autoencoder_run=str(ae_dir), task=cfg.task,
                    slices_per_word=D.SLICES_PER_WORD, gf_input=cfg.gf_input)

    if not is_utt:
        module = make_module(cfg.system, model_kwargs, ae_kwargs, lr, cfg.lr_factor, cfg.lr_patience, meta)
    if ae_dir is not None:  # start from the finished autoencoder's weights (frozen)
        ae_state = ae_ckpt["state_dict"]
        module.ae.load_state_dict({k[len("net."):]: v for k, v in ae_state.items() if k.startswith("net.")})
    meta["params"] = param_count(module.net)

    ckpt_cb = ModelCheckpoint(dirpath=out_dir, filename="model", monitor="val_loss", mode="min", save_top_k=1,
                              save_last=True, enable_version_counter=False)
    stop_cb = EarlyStopping(monitor="val_loss", mode="min", patience=patience)
    csv_logger = CSVLogger(out_dir, name="", version="")
    trainer = build_trainer(hw, max_epochs, [ckpt_cb, stop_cb, _epoch_timer(), *callbacks],
                            [csv_logger, TensorBoardLogger(out_dir, name="tb", version="")], show_progress)
    if trainer.is_global_zero:  # under DDP the other processes only train
        write_text(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
        write_json(out_dir / "split.json", split)
        _keep_metrics(out_dir / "metrics.csv", csv_logger)
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
    start_epoch = int(saved.get("epoch", -1)) + 1 if ckpt_path else 0
    _fit(trainer, module, train_dl, val_dl, ckpt_path, out_dir)
    if trainer.interrupted:
        raise Lip2SpeechError("training interrupted; run the same command again to resume", out_dir)
    if not trainer.is_global_zero:
        return out_dir
    if not (out_dir / "model.ckpt").is_file():
        raise Lip2SpeechError("training produced no model.ckpt", out_dir)
    epochs = trainer.current_epoch
    write_json(out_dir / "summary.json", {
        "system": cfg.system, "params": meta["params"], "epochs": epochs, "start_epoch": start_epoch,
        "hardware": dataclasses.asdict(hw),
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
    common = dict(load=load, kind=kind, stats=stats, window_slices=ws, cache_size=cfg.cache_utterances,
                  gf_input=cfg.gf_input)
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
