"""Commands that score and present: evaluate, experiment, report, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import Lip2SpeechError
from .app import app
from .options import (GF_INPUT, SPLIT_PROTOCOL, check_inversion_start, csv_list,
                      is_rank_zero, speaker_list, variant_overrides, with_machine_options)


@app.command("evaluate")
def evaluate_cmd(
    run: Path = typer.Argument(..., help="Trained run folder (from `lip2speech train` or an experiment), or a "
                               "shipped model name (e.g. grid-s1, with --features; written to ./NAME-evaluations/)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split of the run's split.json to evaluate "
                                        "(default: test); with --features, that split's clips in that folder "
                                        "(e.g. a shipped model's test split, on clips you prepared)."),
    features: Optional[Path] = typer.Option(
        None, "--features", "-f", help="Instead of a split: every utterance of this other features folder (made by "
                                       "`prepare`), written to RUN/eval-<folder name>/."),
    speakers: Optional[list[str]] = typer.Option(
        None, "--speakers", "-s", help="With --features: only these speakers (comma-separated or repeated)."),
    self_normalise: bool = typer.Option(
        False, "--self-normalise", help="With --features: normalise every utterance by itself, as for an unseen "
                                        "speaker (another corpus whose speaker names clash with the run's)."),
    corpus: Optional[list[Path]] = typer.Option(
        None, "--corpus", help="Corpus the features came from (repeat for a folder prepared from several): "
                               "STOI/PESQ/ASR against the original recordings (default: against the inverted "
                               "target spectrogram)."),
    invert_iters: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations."),
    invert_method: str = typer.Option("lbfgs", "--invert-method", help="Spectrogram inversion: lbfgs (default, 20 "
                                      "iterations) or cg (speak's, with --invert-iters 1)."),
    invert_start: str = typer.Option("sine", "--invert-start", help="Inversion start: sine (channel sinusoids, "
                                     "default) or harmonic (a steady voice at --invert-f0: speak's)."),
    invert_f0: float = typer.Option(90.0, "--invert-f0", help="f0 of the harmonic start, Hz."),
    speak_inversion: bool = typer.Option(False, "--speak-inversion", help="Invert as `speak` does (its method, "
                                         "iterations, start and f0), instead of the --invert-* options."),
    max_utterances: Optional[int] = typer.Option(None, "--max-utterances", help="Evaluate only the first N."),
    waveform_utterances: Optional[int] = typer.Option(
        None, "--waveform-utterances", help="Waveform metrics (STOI, PESQ, ASR) on only the first N."),
    waveform: bool = typer.Option(True, "--waveform/--no-waveform", help="Compute waveform metrics."),
    samples: int = typer.Option(2, "--samples", help="Sample utterances saved for the report."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for the waveform metrics (0 = all cores)."),
    force: bool = typer.Option(False, "--force", help="Recompute even if the evaluation is up to date."),
) -> None:
    """Metrics of a run on a split, or on another features folder: RUN/eval-<split | folder>/per_utterance.csv and
    summary.json (mean, 95% CI)."""
    from ..evaluation.evaluate import EvalOptions, evaluate_run, load_summary
    from ..fileio import check_writable
    from ..parallel import default_jobs
    from ..experiments.report import fmt, text_table
    from ..training.shipped import is_shipped

    check_writable(Path(f"{run}-evaluations") if is_shipped(run) else run, folder=True)
    if features is None and (speakers or self_normalise):
        raise Lip2SpeechError("--speakers and --self-normalise go with --features")
    default = EvalOptions()
    if speak_inversion and (invert_iters, invert_method, invert_start, invert_f0) != (
            default.invert_iters, default.invert_method, default.invert_start, default.invert_f0):
        raise Lip2SpeechError("give --speak-inversion or the --invert-* options, not both")
    if invert_method not in ("lbfgs", "cg"):
        raise Lip2SpeechError(f"unknown --invert-method {invert_method!r} (choose lbfgs or cg)")
    check_inversion_start(invert_start, invert_f0, "--invert-start", "--invert-f0")
    opts = EvalOptions(waveform=waveform, invert_iters=invert_iters, invert_method=invert_method,
                       invert_start=invert_start, invert_f0=invert_f0,
                       max_utterances=max_utterances,
                       waveform_utterances=waveform_utterances, samples=samples, jobs=jobs or default_jobs())
    if speak_inversion:
        opts = opts.with_speak_inversion()
    out = evaluate_run(run, split or "test", opts, corpus=corpus or None, force=force, features=features,
                       speakers=speaker_list(speakers) or None, self_normalise=self_normalise,
                       own_split=features is not None and split is not None)
    summary = load_summary(out)
    if summary.get("framing_warning"):
        typer.echo(summary["framing_warning"], err=True)
    rows = [[m, fmt(s["mean"]), f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]", str(s["n"])]
            for m, s in summary["metrics"].items() if s["n"]]  # a metric that does not apply is left out
    typer.echo(text_table(["metric", "mean", "95% CI", "n"], rows))
    for line in summary.get("failures", []):
        typer.echo(f"skipped: {line}", err=True)
    typer.echo(f"wrote {out / 'per_utterance.csv'} and {out / 'summary.json'}")
    if summary.get("failures"):
        raise typer.Exit(1)


@app.command("experiment")
@with_machine_options
def experiment_cmd(
    name: str = typer.Argument(..., help="single, multi, vocabulary (configs/experiments/) or a YAML path."),
    features: Path = typer.Option(..., "--features", "-f", help="Prepared features folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Experiment folder (runs are shared between experiments)."),
    systems: Optional[str] = typer.Option(None, "--systems", help="Comma list, e.g. gf2s,gp2s,gu2s (default: the three published systems)."),
    speakers: Optional[str] = typer.Option(None, "--speakers", help="Comma list of speakers (default: the YAML's)."),
    speaker_counts: Optional[str] = typer.Option(None, "--speaker-counts", help="multi: comma list, e.g. 1,2,4."),
    train: Optional[str] = typer.Option(None, "--train", help="Training config name (e.g. fast) or YAML path."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override max_epochs of every run."),
    gf_input: Optional[str] = GF_INPUT,
    split_protocol: Optional[str] = SPLIT_PROTOCOL,
    label: Optional[str] = typer.Option(
        None, "--label", help="Results folder OUT/<label>/ (default: the experiment, plus -frames / -study-split "
                              "when those options are given, so that variants keep their own tables)."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Original corpus, for STOI/PESQ/ASR references."),
    invert_iters: Optional[int] = typer.Option(None, "--invert-iters", help="Spectrogram inversion iterations."),
    waveform_utterances: Optional[int] = typer.Option(
        None, "--waveform-utterances", help="Per run, waveform metrics on only the first N test utterances."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for training runs side by side (0: all cores on "
                             "the CPU, 1 on a GPU or under DDP) and for the waveform metrics (0 = all cores)."),
    allow_shared_gpu: bool = typer.Option(
        False, "--allow-shared-gpu", help="With --jobs > 1 on a GPU: train the runs side by side on it anyway."),
    *,
    machine: dict,
) -> None:
    """Train and evaluate every run of a published experiment; print ours beside the published numbers."""
    from ..experiments.experiment import print_results, run_experiment
    from ..fileio import check_writable
    from ..parallel import default_jobs
    from ..training.hardware import resolve_hardware, training_jobs
    from ..training.train_config import load_train_config

    check_writable(out, folder=True)
    hw = resolve_hardware(load_train_config(train, machine))  # the autoencoders and every run train on it
    train_jobs = training_jobs(hw, jobs, allow_shared_gpu)
    common = dict(systems=csv_list(systems), speakers=csv_list(speakers),
                  speaker_counts=csv_list(speaker_counts, int), train=train,
                  train_overrides={**machine, **variant_overrides(gf_input, split_protocol),
                                   **({"max_epochs": epochs} if epochs else {})} or None, label=label,
                  eval_overrides={"invert_iters": invert_iters, "waveform_utterances": waveform_utterances,
                                  "jobs": jobs or default_jobs()},
                  corpus=corpus, log=typer.echo)
    if hw.world_size > 1:  # DDP's other processes re-run this command: they train with rank 0, then stop
        run_experiment(name, features, out, jobs=1, train_only=True, **common)
        if not is_rank_zero():
            return
    path = run_experiment(name, features, out, jobs=train_jobs, **common)
    print_results(path, log=typer.echo)
    typer.echo(f"wrote {path}; make the report with: lip2speech report {out}")


@app.command("report")
def report_cmd(
    folder: Path = typer.Argument(..., help="Experiment folder (the --out of `lip2speech experiment`)."),
    title: str = typer.Option("lip2speech experiments", "--title", help="Page title."),
    synthetic: Optional[bool] = typer.Option(
        None, "--synthetic/--grid", help="The experiments ran on a synthetic corpus (no published GRID values "
                                         "beside them) or on GRID (default: as the folder's about.json, written by "
                                         "the demo, says; without one, GRID)."),
) -> None:
    """One self-contained HTML page (front page with the headline result, glossary and contents; tables, plots,
    spectrograms, audio, video) plus Markdown."""
    from ..fileio import check_writable
    from ..experiments.report import build_report

    if not folder.is_dir():
        raise Lip2SpeechError("experiment folder not found", folder)
    check_writable(folder / "report.html")

    html_path, md_path = build_report(folder, title=title, synthetic=synthetic)
    typer.echo(f"wrote {html_path} and {md_path}; open {html_path.resolve()}")


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("lip2speech-demo"), "--out", "-o", help="Output folder (resumable)."),
    full: bool = typer.Option(False, "--full", help="The whole synthetic study: the three published systems and "
                              "gu2s, single-speaker, multi-speaker and vocabulary experiments on 3 speakers x 16 "
                              "utterances and an intelligibility experiment on a 4th speaker of 100 (about 25-30 "
                              "minutes on 2 cores)."),
    quick: bool = typer.Option(False, "--quick", help="The full study reduced for tests (2 speakers x 8 "
                               "utterances and a 3rd of 10, 2 epochs: about 3 minutes)."),
    n_speakers: Optional[int] = typer.Option(None, "--n-speakers", help="How many synthetic speakers to generate "
                                             "(default 1; --full: 3)."),
    utterances: Optional[int] = typer.Option(None, "--utterances", help="Utterances per synthetic speaker "
                                             "(default 50; --full: 16)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override max_epochs of the published systems "
                                         "(gu2s keeps its own)."),
    words: Optional[int] = typer.Option(None, "--words", help="Utterances of an extra speaker for the "
                                        "intelligibility experiment (default 0: none; --full: 100)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
) -> None:
    """The main job. Default (a first visit, under 10 minutes on 2 cores): the shipped grid-s1 model speaks real
    GRID clips, and gu2s and GF2S are trained from scratch on a synthetic speaker and compared per utterance;
    --full: the whole synthetic study. Writes OUT/experiments/report.html."""
    import dataclasses

    from ..experiments.demo import FULL, QUICK, DemoSize, run_demo, with_speakers
    from ..fileio import check_writable

    check_writable(out, folder=True)

    if full and quick:
        raise Lip2SpeechError("give --full or --quick, not both")
    size = QUICK if quick else FULL if full else DemoSize()
    changes = {k: v for k, v in {"utterances": utterances, "epochs": epochs,
                                 "words_utterances": words}.items() if v is not None}
    size = dataclasses.replace(size, **changes)
    if n_speakers is not None:
        size = with_speakers(size, n_speakers)
    run_demo(out, size, jobs=jobs or None, log=typer.echo)
