"""Where a run computes: accelerator, devices, strategy, nodes, precision and workers, checked against this
machine (one-line errors for what it cannot run), and how many runs an experiment trains side by side."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import Lip2SpeechError
from .train_config import TrainConfig

ACCELERATORS = ("auto", "cpu", "gpu", "mps")
PRECISIONS = ("32", "16-mixed", "bf16-mixed")


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
    if "spawn" in name:  # they pickle the module and its datasets, which hold the item loader's closures
        raise Lip2SpeechError(f"strategy {name} is not supported (it pickles the training data); use ddp")
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
    from ..parallel import default_jobs

    return min(4, max(1, default_jobs() // devices - 1))  # leave a core per GPU process for the training loop


def training_jobs(hw: Hardware, requested: int, allow_shared_gpu: bool = False) -> int:
    """Training runs an experiment may train side by side: `requested` (0: all cores on the CPU, 1 on a GPU or
    under DDP); a one-line Lip2SpeechError for several runs on one GPU (unless allowed) or under DDP."""
    from ..parallel import default_jobs

    if requested <= 0:
        return 1 if hw.accelerator != "cpu" or hw.world_size > 1 else default_jobs()
    if requested > 1 and hw.world_size > 1:
        raise Lip2SpeechError(f"--jobs {requested} trains runs side by side, which does not combine with DDP "
                              f"({hw.world_size} processes per run); use --jobs 1")
    if requested > 1 and hw.accelerator != "cpu" and not allow_shared_gpu:
        raise Lip2SpeechError(f"--jobs {requested} would train {requested} runs side by side on one "
                              f"{hw.accelerator.upper()}; use --jobs 1, or --allow-shared-gpu if it has the memory")
    return requested


def set_threads(threads: int, hw: Hardware) -> None:
    """Torch threads of every training process (0: Lightning's default, the cores shared by the processes)."""
    if threads > 0:
        torch.set_num_threads(threads)
        if hw.world_size > 1:  # Lightning's DDP launcher sets its own count unless OMP_NUM_THREADS is set
            os.environ["OMP_NUM_THREADS"] = str(threads)
