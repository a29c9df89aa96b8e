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


@app.command("prepare")
def prepare_cmd(
    corpus: Path = typer.Argument(..., help="GRID (or synthetic) corpus folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Features folder (one .npz per utterance + manifest)."),
    speakers: Optional[list[str]] = typer.Option(None, "--speakers", "-s", help="Only these speakers, e.g. s1,s2."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Do only part i of n (1-based), e.g. 3/10."),
) -> None:
    """Cache spectrogram + lip track of every utterance; finished items are skipped, failures listed at the end."""
    from .features import prepare
    from .parallel import default_jobs

    report = prepare(corpus, out, _speaker_list(speakers) or None, jobs=jobs or default_jobs(), shard=shard)
    for line in report.failures:
        typer.secho(f"failed: {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(report.summary())


@app.command("train")
def train_cmd(
    system: str = typer.Option(..., "--system", help="autoencoder, gf2s, gp2s or lip2audspec."),
    features: Path = typer.Option(..., "--features", "-f", help="Features folder made by `prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (checkpoints, logs, config); re-run to resume."),
    speakers: Optional[list[str]] = typer.Option(None, "--speakers", "-s", help="Train on these speakers only."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="YAML file (or packaged name, e.g. fast)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads (default: config, 1; 0 = all cores)."),
    task: Optional[str] = typer.Option(
        None, "--task", help="sentence (windows of whole utterances, default) or words (aligned word segments, "
                             "2 slices each: the vocabulary task)."),
) -> None:
    """Train a system (and, for gf2s/gp2s/lip2audspec, its autoencoder); resumes from last.ckpt."""
    from .train import load_train_config, train_system

    over: dict = {"system": system}
    if speakers:
        over["speakers"] = _speaker_list(speakers)
    if threads is not None:
        over["threads"] = threads
    if task is not None:
        over["task"] = task
    cfg = load_train_config(config, over)
    run = train_system(cfg, features, out)
    summary = (run / "summary.json").read_text() if (run / "summary.json").is_file() else ""
    typer.echo(f"trained {cfg.system} -> {run}\n{summary}".rstrip())


@app.command("speak")
def speak_cmd(
    run: Path = typer.Argument(..., help="Run folder of a trained gf2s, gp2s or lip2audspec system."),
    video: Path = typer.Argument(..., help="Silent (or not) video of a talking face."),
    out: Path = typer.Option(..., "--out", "-o", help="Reconstructed speech, 8 kHz WAV."),
    out_video: Optional[Path] = typer.Option(None, "--video", help="Also write the video with the new audio (MP4)."),
    n_iter: Optional[int] = typer.Option(None, "--iterations", help="Spectrogram inversion iterations (default 20)."),
) -> None:
    """Lips -> features -> model -> decoder -> inversion: speech from a video."""
    from .inference import speak

    info = speak(run, video, out, out_video, n_iter=n_iter)
    extra = f", {info['frames_without_face']} frames without a face" if info["frames_without_face"] else ""
    typer.echo(f"wrote {info['wav']} ({info['seconds']:.2f} s){extra}"
               + (f" and {info['video']}" if info["video"] else ""))


# ---- evaluate / experiment / report / demo -------------------------------------------------------


def _csv_list(value: Optional[str], cast=str) -> Optional[list]:
    """'a,b,c' -> [a, b, c] (None stays None)."""
    return None if not value else [cast(v.strip()) for v in value.split(",") if v.strip()]


@app.command("evaluate")
def evaluate_cmd(
    run: Path = typer.Argument(..., help="Trained run folder (from `lip2speech train` or an experiment)."),
    split: str = typer.Option("test", "--split", help="Split of the run's split.json to evaluate."),
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
    """Metrics of a run on a split: RUN/eval-<split>/per_utterance.csv and summary.json (mean, 95% CI)."""
    from .evaluate import EvalOptions, evaluate_run, load_summary
    from .parallel import default_jobs
    from .report import fmt, text_table

    opts = EvalOptions(waveform=waveform, invert_iters=invert_iters, max_utterances=max_utterances,
                       waveform_utterances=waveform_utterances, samples=samples, jobs=jobs or default_jobs())
    out = evaluate_run(run, split, opts, corpus=corpus, force=force)
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
    systems: Optional[str] = typer.Option(None, "--systems", help="Comma list, e.g. gf2s,gp2s (default: all three)."),
    speakers: Optional[str] = typer.Option(None, "--speakers", help="Comma list of speakers (default: the YAML's)."),
    speaker_counts: Optional[str] = typer.Option(None, "--speaker-counts", help="multi: comma list, e.g. 1,2,4."),
    train: Optional[str] = typer.Option(None, "--train", help="Training config name (e.g. fast) or YAML path."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override max_epochs of every run."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Original corpus, for STOI/PESQ/ASR references."),
    invert_iters: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations."),
    waveform_utterances: Optional[int] = typer.Option(
        None, "--waveform-utterances", help="Per run, waveform metrics on only the first N test utterances."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for training runs side by side and for the "
                                                      "waveform metrics (0 = all cores)."),
) -> None:
    """Train and evaluate every run of a published experiment; print ours beside the published numbers."""
    from .experiments import print_results, run_experiment
    from .parallel import default_jobs

    path = run_experiment(
        name, features, out, systems=_csv_list(systems), speakers=_csv_list(speakers),
        speaker_counts=_csv_list(speaker_counts, int), train=train,
        train_overrides={"max_epochs": epochs} if epochs else None,
        eval_overrides={"invert_iters": invert_iters, "waveform_utterances": waveform_utterances,
                        "jobs": jobs or default_jobs()},
        corpus=corpus, jobs=jobs or default_jobs(), log=typer.echo)
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
    """The main job: synthetic corpus -> features -> training -> single/multi-speaker experiments -> report."""
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
