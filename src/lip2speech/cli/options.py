"""Options and option parsing shared by several commands (speaker lists, comma lists, where training computes,
what is trained)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional

import typer

from ..errors import Lip2SpeechError


def check_inversion_start(start: str, f0: float, start_flag: str, f0_flag: str) -> None:
    """One-line errors for an inversion start other than sine or harmonic, or an f0 (Hz) that is not > 0."""
    if start not in ("sine", "harmonic"):
        raise Lip2SpeechError(f"unknown {start_flag} {start!r} (choose sine or harmonic)")
    if not f0 > 0:
        raise Lip2SpeechError(f"{f0_flag} must be > 0 Hz, got {f0}")


def speaker_list(speakers: Optional[list[str]]) -> list[str]:
    """Repeated and/or comma-separated speaker options ('-s s1,s2 -s s3') as one list."""
    return [s for item in speakers or [] for s in item.split(",") if s]


# Where training computes (train and experiment; the config's values when not given). Shared option objects.
ACCELERATOR = typer.Option(None, "--accelerator", help="auto (a CUDA GPU when there is one, else the CPU), "
                            "cpu, gpu or mps (default: the config's, auto).")
DEVICES = typer.Option(None, "--devices", help="N|auto: N GPUs, or N CPU processes (DDP), per node; "
                        "auto = 1 (default).")
STRATEGY = typer.Option(None, "--strategy", help="Lightning strategy: auto (DDP for several devices), ddp, "
                         "fsdp, ... (default auto).")
NUM_NODES = typer.Option(None, "--num-nodes", help="Machines of a DDP run, e.g. SLURM nodes (default 1).")
PRECISION = typer.Option(None, "--precision", help="32 (default), 16-mixed (GPU only) or bf16-mixed.")
WORKERS = typer.Option(None, "--workers", help="DataLoader worker processes per training process "
                        "(default auto: 0 on the CPU, up to 4 on a GPU).")


# What is trained (train and experiment; the config's values when not given).
GF_INPUT = typer.Option(None, "--gf-input", help="GF2S input per 200 ms slice: study (the study's code: 7 GF "
                         "splined to 26 steps + first and second differences, 26 x 21; default) or frames "
                         "(the 5 video frames, GF + first differences, 5 x 14).")
SPLIT_PROTOCOL = typer.Option(None, "--split-protocol", help="ours (default: all utterances, 80/20 per speaker, "
                               "10% of training for validation) or study (per speaker the first 100 videos: "
                               "80 train, the last 20 test, the first 10 of them also validate, as published).")


def variant_overrides(gf_input: Optional[str], split_protocol: Optional[str]) -> dict:
    """The GF input and split protocol given on the command line, as TrainConfig overrides."""
    given = {"gf_input": gf_input, "split_protocol": split_protocol}
    return {k: v for k, v in given.items() if v is not None}


def hardware_overrides(accelerator: Optional[str], devices: Optional[str], strategy: Optional[str],
                       num_nodes: Optional[int], precision: Optional[str], workers: Optional[int]) -> dict:
    """The machine options given on the command line, as TrainConfig overrides."""
    given = {"accelerator": accelerator, "devices": int(devices) if devices and devices.isdigit() else devices,
             "strategy": strategy, "num_nodes": num_nodes, "precision": precision, "workers": workers}
    return {k: v for k, v in given.items() if v is not None}


MACHINE_OPTIONS = {"accelerator": (Optional[str], ACCELERATOR), "devices": (Optional[str], DEVICES),
                   "strategy": (Optional[str], STRATEGY), "num_nodes": (Optional[int], NUM_NODES),
                   "precision": (Optional[str], PRECISION), "workers": (Optional[int], WORKERS)}


def with_machine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command taking `machine: dict` gets the six machine options (--accelerator ... --workers) in that
    parameter's place and receives them as TrainConfig overrides (Typer reads options from the signature)."""
    sig = inspect.signature(command)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        if p.name != "machine":
            params.append(p)
            continue
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
                   for name, (kind, option) in MACHINE_OPTIONS.items()]
    params.sort(key=lambda p: p.kind == inspect.Parameter.KEYWORD_ONLY)  # keyword-only last, order kept

    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in MACHINE_OPTIONS}
        return command(**kwargs, machine=hardware_overrides(**given))

    run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return run


def is_rank_zero() -> bool:
    """False in the extra processes of a DDP run (they re-run the command and only train)."""
    from ..data.datasets import process_rank

    return process_rank()[0] == 0


def csv_list(value: Optional[str], cast=str) -> Optional[list]:
    """'a,b,c' -> [a, b, c] (None stays None)."""
    return None if not value else [cast(v.strip()) for v in value.split(",") if v.strip()]


def parse_mouth_width(value: str | float | None, default: str | None = "model") -> float | None | str:
    """A --mouth-width value: a width in px (8..400) -> float; 'off' -> None (video px); 'model' -> 'model' (the
    model's own scale, for speak); a shipped model's name or a run folder -> the width it records; None -> the
    default ('model', or None: video px). Anything else is a one-line error."""
    if value is None:
        return default
    text = str(value).strip()
    if text.lower() == "model":
        return "model"
    if text.lower() in ("off", "none", "video"):  # video px
        return None
    try:
        px = float(text)
    except ValueError:
        from ..lips.framing import model_mouth_width
        from ..training.shipped import resolve_run

        try:
            folder = resolve_run(text)
        except Lip2SpeechError:
            raise Lip2SpeechError(f"--mouth-width takes a width in px, 'off', 'model' or a model, not {text!r}"
                                  ) from None
        import yaml

        cfg = folder / "config.yaml"
        return model_mouth_width(folder, yaml.safe_load(cfg.read_text()) if cfg.is_file() else None)
    if not 8.0 <= px <= 400.0:
        raise Lip2SpeechError(f"--mouth-width {px:g} px is outside 8..400 px")
    return px


def parse_face_size(value: str | None) -> int:
    """A --face-size value: a side in px (16..512) -> int; a shipped model's name or a run folder -> the size its
    mouth region is cut from (data.lip_inputs.model_face_size); None -> lips.crop_size.FACE_SIZE. Anything else is a
    one-line error."""
    from ..lips.crop_size import FACE_SIZE

    if value is None:
        return FACE_SIZE
    text = str(value).strip()
    if not text.isdigit():
        from ..data.lip_inputs import model_face_size
        from ..training.run_folder import load_checkpoint
        from ..training.shipped import resolve_run

        try:
            folder = resolve_run(text)
        except Lip2SpeechError:
            raise Lip2SpeechError(f"--face-size takes a side in px or a model, not {text!r}") from None
        return model_face_size(load_checkpoint(folder / "model.ckpt")["lip2speech"].get("model_kwargs", {}))
    if not 16 <= int(text) <= 512:
        raise Lip2SpeechError(f"--face-size {text} px is outside 16..512 px")
    return int(text)
