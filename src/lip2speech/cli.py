"""The `lip2speech` command line: thin wrappers over the library, one section per pipeline stage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import Lip2SpeechError

app = typer.Typer(
    name="lip2speech",
    help="Reconstruct speech from silent lip video (GaborFea2Speech, GaborPic2Speech, Lip2AudSpec).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _speaker_list(speakers: Optional[list[str]]) -> list[str]:
    """Repeated and/or comma-separated speaker options ('-s s1,s2 -s s3') as one list."""
    return [s for item in speakers or [] for s in item.split(",") if s]


# ---- corpus (issue: corpus reader + synthetic corpus) -------------------------------------------

corpus_app = typer.Typer(help="Inspect a GRID corpus folder.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("info")
def corpus_info(
    root: Path = typer.Argument(..., help="GRID corpus folder (speaker folders s1/, s2/ ... or one flat folder)."),
    speakers: Optional[list[str]] = typer.Option(
        None, "--speakers", "-s", help="Only these speakers (comma-separated or repeated), e.g. -s s1,s2."),
    check_media: bool = typer.Option(
        True, "--check-media/--no-check-media", help="Read every video and WAV header (durations, corrupt files)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for the media check (0 = all cores)."),
) -> None:
    """Print speakers, utterance counts, total duration and every problem found, one line each."""
    from .corpus.grid import describe_scan, scan_corpus
    from .parallel import default_jobs

    scan = scan_corpus(root, _speaker_list(speakers) or None, check_media=check_media, jobs=jobs or default_jobs())
    for line in describe_scan(scan):
        typer.echo(line)


@app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Output folder (GRID layout: s1/video, audio/s1, alignments/s1, truth/s1)."),
    speakers: int = typer.Option(4, "--speakers", "-n", help="Number of synthetic speakers (s1..sN)."),
    utterances: int = typer.Option(50, "--utterances", "-m", help="Utterances (distinct sentences) per speaker."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same corpus."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the synthetic corpus in a non-empty folder."),
) -> None:
    """Generate a synthetic GRID-like corpus: eSpeak NG speech, a talking face video, alignments and ground truth."""
    import time

    from .corpus.synth import synth_corpus
    from .parallel import default_jobs

    start = time.perf_counter()
    report = synth_corpus(out, speakers, utterances, seed, jobs=jobs or default_jobs(), overwrite=overwrite)
    for line in report.failures:
        typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"wrote {len(report.results)} utterances ({speakers} speakers) to {out} "
               f"in {time.perf_counter() - start:.0f} s; {len(report.failures)} failed")
    if report.failures:
        raise typer.Exit(1)

# ---- lips (issue: lip Gabor front end) -----------------------------------------------------------


@app.command("lips")
def lips(
    video: Path = typer.Argument(..., help="A video file (MPEG-1, MP4, AVI, MOV, ...) or a folder of videos (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .npz (a video) or folder (a folder: <relative path>.npz)."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Also write an MP4 preview (a single video only)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for a folder (0 = all cores)."),
    legacy: bool = typer.Option(False, "--legacy", help="Reproduce the published JPEG round trip and region choice."),
    face_size: int = typer.Option(64, "--face-size", help="Side of the grey face crops in px."),
    mouth_width: Optional[float] = typer.Option(
        None, "--mouth-width", help="Rescale so the median mouth box is this wide in px (GRID ~75) for GF on "
        "GRID's scale from footage of any size; default: video px, as published."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Folder: redo videos whose .npz already exists."),
) -> None:
    """Extract lip features: landmarks, mouth boxes, Gabor pictures (GP) and features (GF), face crops."""
    import time

    from .lips import extract_folder, extract_lips, render_preview

    start = time.perf_counter()
    if video.is_dir():
        if preview is not None:
            raise Lip2SpeechError("--preview needs a single video, not a folder", video)
        report = extract_folder(video, out, jobs=jobs or None, overwrite=overwrite, legacy=legacy, face_size=face_size,
                                mouth_width=mouth_width)
        for line in report.failures:
            typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
        total = len(report.results) + len(report.failures)
        typer.echo(f"extracted {len(report.results)} of {total} videos to {out} in {time.perf_counter() - start:.1f} s; "
                   f"{len(report.failures)} failed")
        if report.failures:
            raise typer.Exit(1)
        return
    track = extract_lips(video, legacy=legacy, face_size=face_size, mouth_width=mouth_width)
    track.save(out)
    typer.echo(f"wrote {out}: {len(track)} frames at {track.fps:g} fps, face on {int(track.valid.sum())} "
               f"({time.perf_counter() - start:.1f} s)")
    if preview is not None:
        render_preview(video, track, preview)
        typer.echo(f"wrote {preview}")

# ---- audio (issue: auditory spectrogram + inversion) ---------------------------------------------

_AUDIO_IN_SUFFIXES = {".wav", ".flac", ".ogg", ".mpg", ".mpeg", ".mp4", ".avi", ".mov", ".mkv", ".webm"}


def _audio_batch(fn, inputs: list[Path], out: Path, suffix: str, jobs: int, desc: str, plot: Optional[Path] = None):
    """Run fn(src, dst[, plot]) over inputs: one input -> out is the file; several -> out is a folder."""
    from .audio.files import SPECTROGRAM_SUFFIXES, expand_inputs
    from .parallel import run_jobs

    files = expand_inputs(inputs, _AUDIO_IN_SUFFIXES | SPECTROGRAM_SUFFIXES)
    if len(files) == 1 and not (out.is_dir() or len(inputs) > 1 or inputs[0].is_dir()):
        return [fn((files[0], out, plot))], []
    items = [(f, out / f"{f.stem}{suffix}", None if plot is None else plot / f"{f.stem}.png") for f in files]
    report = run_jobs(fn, items, jobs=jobs, desc=desc)
    for line in report.failures:
        typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
    return report.results, report.failures


def _audspec_job(item, fs: int = 8000, nsl_table: Optional[str] = None):
    from .audio.files import audspec_file

    src, dst, plot = item
    return audspec_file(src, dst, plot, fs=fs, nsl_table=nsl_table)


def _resynth_job(item, fs: int = 8000, n_iter: Optional[int] = None, method: str = "lbfgs", seed: int = 0,
                 nsl_table: Optional[str] = None):
    from .audio.files import resynth_file

    src, dst, _ = item
    return resynth_file(src, dst, fs=fs, n_iter=n_iter, method=method, seed=seed, nsl_table=nsl_table)


@app.command("audspec")
def audspec(
    inputs: list[Path] = typer.Argument(..., help="WAV/audio or video files, or folders of them."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .npy (one input) or folder (several: <name>.npy)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also save a picture (.png; a folder for several)."),
    fs: int = typer.Option(8000, "--fs", help="Analysis sample rate in Hz (16 kHz * 2^k; 8000 = NSL's -1 octave)."),
    nsl_table: Optional[Path] = typer.Option(
        None, "--nsl-table", help="NSL aud24.mat to use the original cochlear filters instead of lip2speech's own."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Processes for several inputs (0 = all cores)."),
) -> None:
    """Auditory spectrogram (N x 128, 125 frames/s at 8 ms) of audio or video files, saved as float32 .npy."""
    from functools import partial

    from .parallel import default_jobs

    table = None if nsl_table is None else str(nsl_table)
    results, failures = _audio_batch(partial(_audspec_job, fs=fs, nsl_table=table), inputs, out, ".npy",
                                     jobs or default_jobs(), "audspec", plot)
    typer.echo(f"wrote {len(results)} spectrogram(s) to {out}" + (f"; {len(failures)} failed" if failures else ""))
    if failures:
        raise typer.Exit(1)


@app.command("resynth")
def resynth(
    inputs: list[Path] = typer.Argument(..., help="Saved spectrograms (.npy, or .npz with 'aud'), or audio/video files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .wav (one input) or folder (several: <name>.wav)."),
    iters: Optional[int] = typer.Option(None, "--iters", help="Iterations: the quality/time knob (default 20 lbfgs, 30 nsl)."),
    method: str = typer.Option("lbfgs", "--method", help="lbfgs (default: better quality than nsl at the same cost) or nsl (NSL aud2wav projection)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the starting waveform."),
    fs: int = typer.Option(8000, "--fs", help="Sample rate of the spectrogram and the WAV (Hz)."),
    nsl_table: Optional[Path] = typer.Option(None, "--nsl-table", help="NSL aud24.mat filters instead of lip2speech's own."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Processes for several inputs (0 = all cores)."),
) -> None:
    """Resynthesise speech (16-bit WAV at --fs) from auditory spectrograms by inverting the auditory model."""
    from functools import partial

    from .parallel import default_jobs

    table = None if nsl_table is None else str(nsl_table)
    job = partial(_resynth_job, fs=fs, n_iter=iters, method=method, seed=seed, nsl_table=table)
    results, failures = _audio_batch(job, inputs, out, ".wav", jobs or default_jobs(), "resynth")
    typer.echo(f"wrote {len(results)} waveform(s) ({sum(results):.1f} s) to {out}"
               + (f"; {len(failures)} failed" if failures else ""))
    if failures:
        raise typer.Exit(1)


# ---- prepare / train / speak ---------------------------------------------------------------------

# Where training computes (train and experiment; the config's values when not given). Shared option objects.
_ACCELERATOR = typer.Option(None, "--accelerator", help="auto (a CUDA GPU when there is one, else the CPU), "
                            "cpu, gpu or mps (default: the config's, auto).")
_DEVICES = typer.Option(None, "--devices", help="N|auto: N GPUs, or N CPU processes (DDP), per node; "
                        "auto = 1 (default).")
_STRATEGY = typer.Option(None, "--strategy", help="Lightning strategy: auto (DDP for several devices), ddp, "
                         "fsdp, ... (default auto).")
_NUM_NODES = typer.Option(None, "--num-nodes", help="Machines of a DDP run, e.g. SLURM nodes (default 1).")
_PRECISION = typer.Option(None, "--precision", help="32 (default), 16-mixed (GPU only) or bf16-mixed.")
_WORKERS = typer.Option(None, "--workers", help="DataLoader worker processes per training process "
                        "(default auto: 0 on the CPU, up to 4 on a GPU).")


# What is trained (train and experiment; the config's values when not given).
_GF_INPUT = typer.Option(None, "--gf-input", help="GF2S input per 200 ms slice: study (the study's code: 7 GF "
                         "splined to 26 steps + first and second differences, 26 x 21; default) or frames "
                         "(the 5 video frames, GF + first differences, 5 x 14).")
_SPLIT_PROTOCOL = typer.Option(None, "--split-protocol", help="ours (default: all utterances, 80/20 per speaker, "
                               "10% of training for validation) or study (per speaker the first 100 videos: "
                               "80 train, the last 20 test, the first 10 of them also validate, as published).")


def _variant(gf_input: Optional[str], split_protocol: Optional[str]) -> dict:
    """The GF input and split protocol given on the command line, as TrainConfig overrides."""
    given = {"gf_input": gf_input, "split_protocol": split_protocol}
    return {k: v for k, v in given.items() if v is not None}


def _hardware(accelerator: Optional[str], devices: Optional[str], strategy: Optional[str],
              num_nodes: Optional[int], precision: Optional[str], workers: Optional[int]) -> dict:
    """The machine options given on the command line, as TrainConfig overrides."""
    given = {"accelerator": accelerator, "devices": int(devices) if devices and devices.isdigit() else devices,
             "strategy": strategy, "num_nodes": num_nodes, "precision": precision, "workers": workers}
    return {k: v for k, v in given.items() if v is not None}


def _is_rank_zero() -> bool:
    """False in the extra processes of a DDP run (they re-run the command and only train)."""
    from .datasets import process_rank

    return process_rank()[0] == 0


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
) -> None:
    """Cache spectrogram + lip track of every utterance; finished items are skipped, failures listed at the end."""
    from .features import prepare
    from .parallel import default_jobs

    report = prepare(corpus, out, _speaker_list(speakers) or None, jobs=jobs or default_jobs(), shard=shard, fs=fs,
                     lips_dir=lips)
    for line in report.failures:
        typer.secho(f"failed: {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(report.summary())


@app.command("train")
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
    gf_input: Optional[str] = _GF_INPUT,
    split_protocol: Optional[str] = _SPLIT_PROTOCOL,
    accelerator: Optional[str] = _ACCELERATOR,
    devices: Optional[str] = _DEVICES,
    strategy: Optional[str] = _STRATEGY,
    num_nodes: Optional[int] = _NUM_NODES,
    precision: Optional[str] = _PRECISION,
    workers: Optional[int] = _WORKERS,
) -> None:
    """Train a system (and, for gf2s/gp2s/lip2audspec, its autoencoder); resumes from last.ckpt."""
    from .train import train_system
    from .train_config import load_train_config

    over: dict = {"system": system, **_hardware(accelerator, devices, strategy, num_nodes, precision, workers)}
    if speakers:
        over["speakers"] = _speaker_list(speakers)
    if threads is not None:
        over["threads"] = threads
    if task is not None:
        over["task"] = task
    over.update(_variant(gf_input, split_protocol))
    cfg = load_train_config(config, over)
    run = train_system(cfg, features, out)
    if not _is_rank_zero():
        return
    summary = (run / "summary.json").read_text() if (run / "summary.json").is_file() else ""
    typer.echo(f"trained {cfg.system} -> {run}\n{summary}".rstrip())


@app.command("speak")
def speak_cmd(
    inputs: list[Path] = typer.Argument(..., help="RUN VIDEO... (a run folder, then videos or folders of videos; "
                                        "a `lip2speech lips` .npz stands for its video); with --model only the "
                                        "videos."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A shipped model (e.g. grid-s1, see "
                                        "`lip2speech models`) or a run folder, instead of the first argument."),
    out: Path = typer.Option(..., "--out", "-o", help="One video: the WAV to write; several: a folder for "
                             "<name>.wav. The rate is the model's (8 kHz published systems, 16 kHz grid-s1)."),
    out_video: Optional[Path] = typer.Option(None, "--video", help="Also write the video with the new audio (MP4; "
                                             "a folder for several videos)."),
    n_iter: Optional[int] = typer.Option(None, "--iterations", help="Spectrogram inversion iterations (default 2: "
                                         "as clear as 20 on model output, at a fraction of the time)."),
) -> None:
    """Lips -> features -> model -> inversion: speech from one or more videos, the model loaded once."""
    import time

    t0 = time.perf_counter()
    from .speak import speak_many

    run = model if model is not None else str(inputs[0])
    videos = inputs if model is not None else inputs[1:]
    if not videos:
        raise Lip2SpeechError("no video given (speak RUN VIDEO... or speak --model NAME VIDEO...)")
    t_import = time.perf_counter() - t0
    res = speak_many(run, videos, out, out_video, n_iter=n_iter, log=typer.echo)
    speech = sum(c["seconds"] for c in res["clips"])
    work = sum(sum(c["times"].values()) for c in res["clips"])
    typer.echo(f"start-up {t_import + res['startup_s']:.2f} s (imports {t_import:.2f} s, model {res['startup_s']:.2f} s);"
               f" {len(res['clips'])} clip(s), {speech:.2f} s of speech in {work:.2f} s"
               + (f"; {len(res['failures'])} failed" if res["failures"] else ""))
    if not res["clips"]:
        raise Lip2SpeechError(f"no clip could be reconstructed ({len(res['failures'])} failed)")


@app.command("models")
def models_cmd(
    name: Optional[str] = typer.Argument(None, help="Show this model's whole card."),
) -> None:
    """The trained models shipped with lip2speech and their model cards."""
    from .shipped import card, shipped_models

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


# ---- evaluate / experiment / report / demo -------------------------------------------------------


def _csv_list(value: Optional[str], cast=str) -> Optional[list]:
    """'a,b,c' -> [a, b, c] (None stays None)."""
    return None if not value else [cast(v.strip()) for v in value.split(",") if v.strip()]


@app.command("evaluate")
def evaluate_cmd(
    run: Path = typer.Argument(..., help="Trained run folder (from `lip2speech train` or an experiment), or a "
                               "shipped model name (e.g. grid-s1, with --features; written to ./NAME-evaluations/)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split of the run's split.json to evaluate "
                                        "(default: test)."),
    features: Optional[Path] = typer.Option(
        None, "--features", "-f", help="Instead of a split: every utterance of this other features folder (made by "
                                       "`prepare`), written to RUN/eval-<folder name>/."),
    speakers: Optional[list[str]] = typer.Option(
        None, "--speakers", "-s", help="With --features: only these speakers (comma-separated or repeated)."),
    self_normalise: bool = typer.Option(
        False, "--self-normalise", help="With --features: normalise every utterance by itself, as for an unseen "
                                        "speaker (another corpus whose speaker names clash with the run's)."),
    corpus: Optional[Path] = typer.Option(
        None, "--corpus", help="Corpus the features came from: STOI/PESQ/ASR against the original recordings "
                               "(default: against the inverted target spectrogram)."),
    invert_iters: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations."),
    max_utterances: Optional[int] = typer.Option(None, "--max-utterances", help="Evaluate only the first N."),
    waveform_utterances: Optional[int] = typer.Option(
        None, "--waveform-utterances", help="Waveform metrics (STOI, PESQ, ASR) on only the first N."),
    waveform: bool = typer.Option(True, "--waveform/--no-waveform", help="Compute waveform metrics."),
    samples: int = typer.Option(2, "--samples", help="Sample utterances saved for the report."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Processes for the waveform metrics (0 = all cores)."),
    force: bool = typer.Option(False, "--force", help="Recompute even if the evaluation is up to date."),
) -> None:
    """Metrics of a run on a split, or on another features folder: RUN/eval-<split | folder>/per_utterance.csv and
    summary.json (mean, 95% CI)."""
    from .evaluate import EvalOptions, evaluate_run, load_summary
    from .parallel import default_jobs
    from .report import fmt, text_table

    if features is not None and split is not None:
        raise Lip2SpeechError("give --split or --features, not both")
    if features is None and (speakers or self_normalise):
        raise Lip2SpeechError("--speakers and --self-normalise go with --features")
    opts = EvalOptions(waveform=waveform, invert_iters=invert_iters, max_utterances=max_utterances,
                       waveform_utterances=waveform_utterances, samples=samples, jobs=jobs or default_jobs())
    out = evaluate_run(run, split or "test", opts, corpus=corpus, force=force, features=features,
                       speakers=_speaker_list(speakers) or None, self_normalise=self_normalise)
    summary = load_summary(out)
    rows = [[m, fmt(s["mean"]), f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]", str(s["n"])]
            for m, s in summary["metrics"].items()]
    typer.echo(text_table(["metric", "mean", "95% CI", "n"], rows))
    for line in summary.get("failures", []):
        typer.echo(f"skipped: {line}", err=True)
    typer.echo(f"wrote {out / 'per_utterance.csv'} and {out / 'summary.json'}")


@app.command("experiment")
def experiment_cmd(
    name: str = typer.Argument(..., help="single, multi, vocabulary (configs/experiments/) or a YAML path."),
    features: Path = typer.Option(..., "--features", "-f", help="Prepared features folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Experiment folder (runs are shared between experiments)."),
    systems: Optional[str] = typer.Option(None, "--systems", help="Comma list, e.g. gf2s,gp2s,gu2s (default: the three published systems)."),
    speakers: Optional[str] = typer.Option(None, "--speakers", help="Comma list of speakers (default: the YAML's)."),
    speaker_counts: Optional[str] = typer.Option(None, "--speaker-counts", help="multi: comma list, e.g. 1,2,4."),
    train: Optional[str] = typer.Option(None, "--train", help="Training config name (e.g. fast) or YAML path."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override max_epochs of every run."),
    gf_input: Optional[str] = _GF_INPUT,
    split_protocol: Optional[str] = _SPLIT_PROTOCOL,
    label: Optional[str] = typer.Option(
        None, "--label", help="Results folder OUT/<label>/ (default: the experiment, plus -frames / -study-split "
                              "when those options are given, so that variants keep their own tables)."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Original corpus, for STOI/PESQ/ASR references."),
    invert_iters: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations."),
    waveform_utterances: Optional[int] = typer.Option(
        None, "--waveform-utterances", help="Per run, waveform metrics on only the first N test utterances."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for training runs side by side (0: all cores on "
                             "the CPU, 1 on a GPU or under DDP) and for the waveform metrics (0 = all cores)."),
    accelerator: Optional[str] = _ACCELERATOR,
    devices: Optional[str] = _DEVICES,
    strategy: Optional[str] = _STRATEGY,
    num_nodes: Optional[int] = _NUM_NODES,
    precision: Optional[str] = _PRECISION,
    workers: Optional[int] = _WORKERS,
    allow_shared_gpu: bool = typer.Option(
        False, "--allow-shared-gpu", help="With --jobs > 1 on a GPU: train the runs side by side on it anyway."),
) -> None:
    """Train and evaluate every run of a published experiment; print ours beside the published numbers."""
    from .experiments import print_results, run_experiment
    from .parallel import default_jobs
    from .hardware import resolve_hardware, training_jobs
    from .train_config import load_train_config

    machine = _hardware(accelerator, devices, strategy, num_nodes, precision, workers)
    hw = resolve_hardware(load_train_config(train, machine))  # the autoencoders and every run train on it
    train_jobs = training_jobs(hw, jobs, allow_shared_gpu)
    common = dict(systems=_csv_list(systems), speakers=_csv_list(speakers),
                  speaker_counts=_csv_list(speaker_counts, int), train=train,
                  train_overrides={**machine, **_variant(gf_input, split_protocol),
                                   **({"max_epochs": epochs} if epochs else {})} or None, label=label,
                  eval_overrides={"invert_iters": invert_iters, "waveform_utterances": waveform_utterances,
                                  "jobs": jobs or default_jobs()},
                  corpus=corpus, log=typer.echo)
    if hw.world_size > 1:  # DDP's other processes re-run this command: they train with rank 0, then stop
        run_experiment(name, features, out, jobs=1, train_only=True, **common)
        if not _is_rank_zero():
            return
    path = run_experiment(name, features, out, jobs=train_jobs, **common)
    print_results(path, log=typer.echo)
    typer.echo(f"wrote {path}; make the report with: lip2speech report {out}")


@app.command("report")
def report_cmd(
    folder: Path = typer.Argument(..., help="Experiment folder (the --out of `lip2speech experiment`)."),
    title: str = typer.Option("lip2speech experiments", "--title", help="Page title."),
) -> None:
    """One self-contained HTML page (tables, plots, spectrograms, audio, video) plus Markdown."""
    from .report import build_report

    html_path, md_path = build_report(folder, title=title)
    typer.echo(f"wrote {html_path} and {md_path}")


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("lip2speech-demo"), "--out", "-o", help="Output folder (resumable)."),
    quick: bool = typer.Option(False, "--quick", help="A reduced demo (2 speakers, 2 epochs: about 3 minutes)."),
    speakers: Optional[int] = typer.Option(None, "--speakers", help="Synthetic speakers (default 3)."),
    utterances: Optional[int] = typer.Option(None, "--utterances", help="Utterances per speaker (default 16)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override max_epochs of the systems."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
) -> None:
    """The main job: synthetic corpus -> features -> training (incl. gu2s) -> experiments -> the shipped grid-s1
    model on real GRID clips -> report."""
    import dataclasses

    from .demo import QUICK, DemoSize, run_demo

    size = QUICK if quick else DemoSize()
    changes = {k: v for k, v in {"speakers": speakers, "utterances": utterances, "epochs": epochs}.items()
               if v is not None}
    if speakers is not None:
        changes["speaker_counts"] = tuple(n for n in size.speaker_counts if n < speakers) + (speakers,)
        changes["single_speakers"] = min(size.single_speakers, speakers)
    run_demo(out, dataclasses.replace(size, **changes), jobs=jobs or None, log=typer.echo)


def main() -> None:
    """Console entry point: user errors become one clear line and exit code 2."""
    try:
        app()
    except Lip2SpeechError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
