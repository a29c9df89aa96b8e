"""The only code that touches Lightning's Trainer: build it for a run's hardware, fit a module into a run
folder (checkpoints, CSV/TensorBoard logs, early stopping, resume), and turn Ctrl-C into a one-line error."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import lightning.pytorch as pl

from ..errors import Lip2SpeechError
from .hardware import Hardware
from .metrics_csv import RunCsvLogger
from .train_config import KEEP


class EpochTimer(pl.Callback):
    """Logs the wall time of every training epoch (s) as `epoch_seconds`."""

    def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
        self.t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
        module.log("epoch_seconds", time.perf_counter() - self.t0, on_epoch=True, sync_dist=True)


def build_trainer(hw: Hardware, max_epochs: int, callbacks: Sequence[Any], loggers: Sequence[Any],
                  show_progress: bool = True) -> Any:
    """The Lightning Trainer of a run on `hw`: the one place a Trainer is made."""
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


_LAUNCHERS: list[Any] = []  # Lightning launchers of this process: they hold the DDP processes it started


def _fit(trainer: Any, module: Any, train_dl: Any, val_dl: Any, ckpt_path: str | None, out_dir: Path) -> None:
    """trainer.fit; Ctrl-C becomes a one-line error (a checkpoint of another model was refused before, by
    run_folder.resume_point). When it fails, the DDP processes this process started (for this fit or an
    earlier one, e.g. the autoencoder's) are stopped."""
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
        raise


def _stop_children() -> None:
    for launcher in _LAUNCHERS:
        for proc in launcher.procs:
            if proc.poll() is None:
                proc.kill()


def quiet_lightning() -> None:
    """Keep training logs readable: drop Lightning's banner lines and warnings that are expected here."""
    import logging
    import warnings

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for msg in (".*exists and is not empty.*", ".*does not have many workers.*", ".*LeafSpec.*",
                ".*litlogger.*", ".*smaller than the logging interval.*",
                ".*validation_step. but have no .val_dataloader.*"):  # val_fraction 0 (gu2s): no validation
        warnings.filterwarnings("ignore", message=msg)


def fit_run(module: Any, train_dl: Any, val_dl: Any, out_dir: Path, hw: Hardware, max_epochs: int, patience: int,
            ckpt_path: str | None, on_rank_zero: Any = None, callbacks: Sequence[Any] = (),
            show_progress: bool = True, keep: str = "best") -> tuple[Any, float | None]:
    """Fit `module` into the run folder: model.ckpt (best validation loss; without `val_dl` or with keep="last",
    the last epoch), last.ckpt (every epoch: where an interrupted run resumes), metrics.csv, tb/, early stopping
    after `patience` epochs without a better validation loss (keep="best" only), resuming from `ckpt_path`.
    `on_rank_zero()` runs once the Trainer knows the process's rank, only on rank 0 (it writes the run's
    files). Returns (trainer, best validation loss or None)."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import TensorBoardLogger

    if keep not in KEEP:
        raise Lip2SpeechError(f"unknown keep {keep!r} (choose {' or '.join(KEEP)})", out_dir)
    monitor = None if val_dl is None or keep == "last" else "val_loss"  # None: model.ckpt is the last epoch
    # Lightning's save_last writes last.ckpt only in epochs that also save model.ckpt, so a run that keeps its best
    # epoch would resume from that epoch instead of its last: there a callback of its own writes last.ckpt
    ckpt_cb = ModelCheckpoint(dirpath=out_dir, filename="model", monitor=monitor, mode="min", save_top_k=1,
                              save_last=monitor is None, enable_version_counter=False)
    last_cb = [] if monitor is None else [ModelCheckpoint(dirpath=out_dir, filename="last", monitor=None,
                                                          save_top_k=1, enable_version_counter=False)]
    stop_cb = [] if monitor is None else [EarlyStopping(monitor="val_loss", mode="min", patience=patience)]
    trainer = build_trainer(hw, max_epochs, [ckpt_cb, *last_cb, *stop_cb, EpochTimer(), *callbacks],
                            [RunCsvLogger(out_dir), TensorBoardLogger(out_dir, name="tb", version="")], show_progress)
    if trainer.is_global_zero and on_rank_zero is not None:  # under DDP the other processes only train
        on_rank_zero()
    _fit(trainer, module, train_dl, val_dl, ckpt_path, out_dir)
    if trainer.interrupted:
        raise Lip2SpeechError("training interrupted; run the same command again to resume", out_dir)
    best = ckpt_cb.best_model_score
    return trainer, None if best is None else float(best)
