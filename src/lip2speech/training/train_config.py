"""What defines a training run: TrainConfig (+ its autoencoder's), read from configs/train.yaml, a YAML file
that names its `base`, and overrides; saved resolved as config.yaml in every run folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import splits as SP, windows as W
from ..errors import Lip2SpeechError
from ..models.systems import SYSTEMS, UTTERANCE_SYSTEMS

CONFIG_DIR = Path(__file__).parents[1] / "configs"  # the package's configs/ folder
# Settings of how a run is computed, not of what it learns: a run folder resumes under other values.
KEEP = ("best", "last")  # which epoch a run's model.ckpt holds when it has validation clips
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
    val_fraction: float = 0.1  # gu2s may use 0: no validation, train on all but test, keep the last epoch
    split_protocol: str = "ours"  # ours: the fractions above (random per seed); study: first 100 videos, 80/20
    gf_input: str = "study"  # gf2s input per slice: study (26 splined steps x 21 values) or frames (5 x 14)
    seed: int = 0
    split_seed: int | None = None  # the seed of the split (ours); None: `seed` (another seed, the same split)
    test_split: str = ""  # a split.json or shipped model name: its test keys are the test set, all others train
    train_clips: int = 0  # > 0: train on this many of the training keys (a seeded draw; data-scaling runs)
    max_epochs: int = 40
    batch_size: int = 32  # the whole batch: DDP processes take an equal share each
    lr: float = 1e-4
    lr_factor: float = 0.2
    lr_patience: int = 4
    early_stop_patience: int = 10
    keep: str = "best"  # model.ckpt of a run with validation: best (lowest validation loss) or last (the last epoch)
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
    loudness_corr: float = 0.0  # gu2s: weight of (1 - correlation of the frame loudness over 128 ms windows)
    time_mask: float = 0.0  # gu2s augmentation: hide up to this fraction of an utterance's frames (two spans)
    shift_pixels: int = 0  # gu2s augmentation: translate the Gabor pictures by up to this many pixels
    speed: float = 0.0  # gu2s augmentation: lips and spectrogram stretched in time by 1 +- up to this fraction
    recognisability: float = 0.0  # gu2s: weight of the frozen spectrogram recogniser's CTC on the prediction
    recogniser: str = ""  # gu2s: its recogniser.pt (benchmarks/recogniser.py), needed when recognisability > 0
    adversarial: float = 0.0  # gu2s: weight of fooling a patch critic of spectrograms trained beside it
    feature_matching: float = 0.0  # gu2s: weight of L1 between that critic's activations on prediction and truth
    model: dict = field(default_factory=dict)  # system constructor arguments (sizes)
    init_from: str = ""  # gu2s: start from this trained model (run folder or shipped name): `lip2speech adapt`
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)


def load_train_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """TrainConfig from configs/train.yaml defaults, a YAML file (may name a `base`) and overrides.

    A packaged name (`fast`) resolves to its per-system variant (`fast-gf2s.yaml`) when one exists for the
    system named in `overrides`.
    """
    from ..config import _merge, read_yaml

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
    from ..config import from_dict

    cfg = from_dict(TrainConfig, data, str(path or "configs/train.yaml"))
    if cfg.system not in ("autoencoder", *SYSTEMS):
        raise Lip2SpeechError(f"unknown system {cfg.system!r} (choose from {', '.join(('autoencoder', *SYSTEMS))})",
                              path)
    if cfg.task not in TASKS:
        raise Lip2SpeechError(f"unknown task {cfg.task!r} (choose from {', '.join(TASKS)})", path)
    for name, value, allowed in (("gf_input", cfg.gf_input, W.GF_INPUTS),
                                 ("split_protocol", cfg.split_protocol, SP.SPLIT_PROTOCOLS)):
        if value not in allowed:
            raise Lip2SpeechError(f"unknown {name} {value!r} (choose from {', '.join(allowed)})", path)
    if cfg.keep not in KEEP:
        raise Lip2SpeechError(f"unknown keep {cfg.keep!r} (choose {' or '.join(KEEP)})", path)
    if cfg.recognisability > 0 and not cfg.recogniser:
        raise Lip2SpeechError("recognisability > 0 needs `recogniser`: a recogniser.pt file", path)
    if cfg.system in UTTERANCE_SYSTEMS and cfg.task != "sentence":
        raise Lip2SpeechError(f"{cfg.system} reads whole utterances; its word scores come from a sentence run "
                              "(task: sentence)", path)
    return cfg
