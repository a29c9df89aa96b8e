"""Commands that prepare features, train systems, speak from video and list shipped models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import Lip2SpeechError
from ..inference.speak_inversion import SPEAK_F0, SPEAK_METHOD, SPEAK_START
from .app import app
from .options import (GF_INPUT, SPLIT_PROTOCOL, check_inversion_start, is_rank_zero, speaker_list, variant_overrides,
                      with_machine_options)


@app.command("prepare")
def prepare_cmd(
    corpus: Path = typer.Argument(..., help="GRID (or synthetic) corpus folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Features folder (one .npz per utterance + manifest)."),
    speakers: Optional[list[str]] = typer.Option(None, "--speakers", "-s", help="Only these speakers, e.g. s1,s2."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Do only part i of n (1-based), e.g. 3/10."),
    fs: Optional[int] = typer.Option(None, "--fs", help="Audio rate of the auditory spectrogram in Hz: 8000 "
                                     "(published; default for a new folder) or 16000 (wider band, for gu2s)."),
    lips: Optional[Path] = typer.Option(None, "--lips", help="Folder written by `lip2speech lips CORPUS --out "
                                        "DIR`: reuse its track of a video (DIR/<path below CORPUS>.npz) instead of "
                                        "extracting the lips again."),
    mouth_width: Optional[str] = typer.Option(None, "--mouth-width", metavar="PX|MODEL|off", help="Bring every "
                                              "video to this median mouth box width in px, or to a model's "
                                              "training scale (e.g. grid-s1), recorded in the folder; default: "
                                              "video px, as published."),
    face_size: Optional[str] = typer.Option(None, "--face-size", metavar="PX|MODEL", help="Side of the grey face "
                                            "crops in px (default 64; their mouth region is half as high), or the "
                                            "size a model reads (e.g. grid-s1); a folder holds one size."),
) -> None:
    """Cache spectrogram + lip track of every utterance; finished items are skipped, failures listed at the end."""
    from ..data.features import prepare
    from ..fileio import check_writable
    from ..parallel import default_jobs

    from .options import parse_face_size, parse_mouth_width

    width = parse_mouth_width(mouth_width, default=None)
    if width == "model":
        raise Lip2SpeechError("prepare has no model: give --mouth-width a width in px or a model's name")
    side = parse_face_size(face_size)
    check_writable(out, folder=True)
    report = prepare(corpus, out, speaker_list(speakers) or None, jobs=jobs or default_jobs(), shard=shard, fs=fs,
                     lips_dir=lips, mouth_width=width, face_size=side)
    for line in report.failures:
        typer.secho(f"failed: {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(report.summary())
    if report.failures:
        raise typer.Exit(1)


@app.command("train")
@with_machine_options
def train_cmd(
    system: str = typer.Option(..., "--system", help="autoencoder, gf2s, gp2s, lip2audspec or gu2s "
                               "(whole utterance; its defaults: configs/gu2s.yaml)."),
    features: Path = typer.Option(..., "--features", "-f", help="Features folder made by `prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (checkpoints, logs, config); re-run to resume."),
    speakers: Optional[list[str]] = typer.Option(None, "--speakers", "-s", help="Train on these speakers only."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="YAML file (or packaged name, e.g. fast)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads (default: config, 1; 0 = all cores)."),
    task: Optional[str] = typer.Option(
        None, "--task", help="sentence (windows of whole utterances, default) or words (aligned word segments, "
                             "2 slices each: the vocabulary task)."),
    gf_input: Optional[str] = GF_INPUT,
    split_protocol: Optional[str] = SPLIT_PROTOCOL,
    *,
    machine: dict,
) -> None:
    """Train a system (and, for gf2s/gp2s/lip2audspec, its autoencoder); resumes from last.ckpt."""
    from ..fileio import check_writable
    from ..training.train import train_system
    from ..training.train_config import load_train_config

    check_writable(out, folder=True)

    over: dict = {"system": system, **machine}
    if speakers:
        over["speakers"] = speaker_list(speakers)
    if threads is not None:
        over["threads"] = threads
    if task is not None:
        over["task"] = task
    over.update(variant_overrides(gf_input, split_protocol))
    cfg = load_train_config(config, over)
    run = train_system(cfg, features, out)
    if not is_rank_zero():
        return
    summary = (run / "summary.json").read_text() if (run / "summary.json").is_file() else ""
    typer.echo(f"trained {cfg.system} -> {run}\n{summary}".rstrip())


@app.command("speak")
def speak_cmd(
    inputs: list[Path] = typer.Argument(..., metavar="[RUN] VIDEO...", help="RUN VIDEO... (a run folder, then videos or folders of videos; "
                                        "a `lip2speech lips` .npz stands for its video); with --model only the "
                                        "videos."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A shipped model (e.g. grid-s1, see "
                                        "`lip2speech models`) or a run folder, instead of the first argument."),
    out: Path = typer.Option(..., "--out", "-o", help="One video: the WAV to write; several: a folder for "
                             "<name>.wav. The rate is the model's (8 kHz published systems, 16 kHz grid-s1)."),
    out_video: Optional[Path] = typer.Option(None, "--video", help="Also write the video with the new audio (MP4; "
                                             "a folder for several videos)."),
    n_iter: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations, conjugate "
                                         "gradients (default 1: from the harmonic start, higher STOI than 20 of "
                                         "L-BFGS on model output, at a fraction of the time)."),
    start: str = typer.Option(SPEAK_START, "--invert-start", help="Inversion start: harmonic (a steady voice at "
                              "--invert-f0, "
                              "default: higher STOI from a model's smooth spectrogram) or sine (channel sinusoids: "
                              "the recogniser finds more words)."),
    f0: float = typer.Option(SPEAK_F0, "--invert-f0", help="Pitch of the harmonic start, Hz."),
    method: str = typer.Option(SPEAK_METHOD, "--invert-method", help="Spectrogram inversion: cg (conjugate "
                               "gradients, default) or lbfgs (evaluate's default, with --invert-iters 20)."),
    mouth_width: str = typer.Option("model", "--mouth-width", metavar="PX|model|off", help="Bring the video to "
                                    "this median mouth box width in px before reading the lips; model (default): "
                                    "the scale the model was trained at (grid-s1: 73 px), so resolution, zoom and "
                                    "black borders do not matter; off: video px (published systems' default)."),
) -> None:
    """Lips -> features -> model -> inversion: speech from one or more videos, the model loaded once."""
    import time

    t0 = time.perf_counter()
    from ..inference.speak import speak_many

    run = model if model is not None else str(inputs[0])
    videos = inputs if model is not None else inputs[1:]
    if not videos:
        raise Lip2SpeechError("no video given (speak RUN VIDEO... or speak --model NAME VIDEO...)")
    check_inversion_start(start, f0, "--invert-start", "--invert-f0")
    if method not in ("cg", "lbfgs"):
        raise Lip2SpeechError(f"unknown --invert-method {method!r} (choose cg or lbfgs)")
    from .options import parse_mouth_width

    width = parse_mouth_width(mouth_width)
    t_import = time.perf_counter() - t0
    res = speak_many(run, videos, out, out_video, n_iter=n_iter, log=typer.echo, method=method, start=start, f0=f0,
                     mouth_width=width)
    speech = sum(c["seconds"] for c in res["clips"])
    work = sum(sum(c["times"].values()) for c in res["clips"])
    typer.echo(f"start-up {t_import + res['startup_s']:.2f} s (imports {t_import:.2f} s, model {res['model_s']:.2f} s, "
               f"face models {res['face_models_s']:.2f} s, warm-up {res['warm_up_s']:.2f} s);"
               f" {len(res['clips'])} clip(s), {speech:.2f} s of speech in {work:.2f} s"
               + (f"; {len(res['failures'])} failed" if res["failures"] else ""))
    if not res["clips"]:
        raise Lip2SpeechError(f"no clip could be reconstructed ({len(res['failures'])} failed)")
    if res["failures"]:
        raise typer.Exit(1)


@app.command("models")
def models_cmd(
    name: Optional[str] = typer.Argument(None, help="Show this model's whole card."),
) -> None:
    """The trained models shipped with lip2speech and their model cards."""
    from ..training.shipped import card, shipped_models

    models = shipped_models()
    if name is not None:
        typer.echo(card(name))
        return
    if not models:
        typer.echo("no shipped models")
    for n, folder in models.items():
        first = next((ln for ln in card(n).splitlines() if ln.strip() and not ln.startswith("#")), "")
        size = (folder / "model.ckpt").stat().st_size / 1e6
        typer.echo(f"{n}  ({size:.1f} MB)  {first}")
    typer.echo("`lip2speech models NAME` prints a model's whole card.")
