"""Real GRID speaker s1, the published experiments in one command: prepare the clips, train the autoencoder and
the systems at their published sizes and settings (configs/train.yaml) on the 80/20 split, GF2S also on the
5 x 14 frame input, the two controls (the mean training spectrogram; the same GF2S trained on lips shuffled
across utterances), the vocabulary experiment (word segments), every metric (corr2 on test and train, AE
ceiling, STOI, ESTOI, PESQ, word accuracy of the reconstruction and of the original), times per epoch and per
system, and the report (DIR/report.html, DIR/report.md).

    python benchmarks/grid_s1.py --corpus ../shared/data/grid-s1 --out DIR [--systems gf2s,gp2s,lip2audspec]
        [--max-epochs N|SYSTEM=N,...] [--ae-epochs N] [--jobs N] [--train train] [--clips N] [--study-split]
        [--waveform-utterances N] [--invert-iters N] [--no-vocabulary] [--gu2s RUN ...]

Everything resumes: prepared clips, finished runs and up-to-date evaluations are reused, so an interrupted
benchmark continues when the same command is run again. `--max-epochs` caps every system's training, or named
systems' (the published setting is 40 epochs with early stopping), e.g. where a system cannot finish on a small
CPU; the
times table says how many epochs each run did. `--clips N` uses N clips spread evenly over the corpus's file
order (symlinks in DIR/corpus-N) for a quick end-to-end check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lip2speech.models.systems import PUBLISHED_SYSTEMS as SYSTEMS
from lip2speech.training.run_folder import read_split
SPEAKER = "s1"
VARIANTS = ("gf2s-frames", "gf2s-shuffled", *(f"{s}-words" for s in SYSTEMS))  # other run folders, for epoch caps


def subset_corpus(corpus: Path, out: Path, n: int) -> Path:
    """A corpus folder of symlinks to n clips of SPEAKER spread evenly over the file order (and their alignments)."""
    from lip2speech.corpus.records import natural_key

    videos = sorted((corpus / SPEAKER).glob("*.mpg"), key=lambda p: natural_key(p.name))
    chosen = videos[:: max(1, len(videos) // n)][:n]
    for video in chosen:
        align = corpus / "alignments" / SPEAKER / f"{video.stem}.align"
        for src, dst in ((video, out / SPEAKER / video.name), (align, out / "alignments" / SPEAKER / align.name)):
            if src.is_file() and not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(src.resolve())
    return out


def add_mean_control(results: Path, run: Path, features: Path, corpus: Path, eval_options: Any,
                     log: Callable[[str], None]) -> None:
    """Score the mean-spectrogram control on `run`'s test split (every metric) and training split (corr2) and
    append it as a row to the controls' results.json and table.md."""
    from lip2speech.evaluation.controls import MeanSpectrogram
    from lip2speech.evaluation.evaluate import evaluate_predictor, load_summary
    from lip2speech.experiments.experiment import write_table

    split = read_split(run)
    ae_run = json.loads((run / "summary.json").read_text())["autoencoder_run"]
    control = MeanSpectrogram(features, split["train"], ae_run)
    base = results.parent / "mean-spectrogram"
    train_opts = dataclasses.replace(eval_options, waveform=False, asr=False, samples=0)

    def scored(keys: list[str], out: Path, opts: Any, reference: Path | None) -> dict:
        """The control's summary on `keys`; an earlier one with the same options and keys is reused."""
        path = out / "summary.json"
        if path.is_file():
            old = json.loads(path.read_text())
            if old.get("options") == dataclasses.asdict(opts) and old.get("keys") == keys:
                return old
        evaluate_predictor(control, features, keys, out, opts, reference, show_progress=False, extra={"keys": keys})
        return load_summary(out)

    test = scored(sorted(split["test"]), base / "eval-test", eval_options, corpus)
    train = scored(sorted(split["train"]), base / "eval-train", train_opts, None)
    result = json.loads(results.read_text())
    result["rows"] = [r for r in result["rows"] if r["system"] != control.system] + [{
        "system": control.system, "condition": SPEAKER, "n_speakers": 1, "speakers": [SPEAKER],
        "run": str(base.relative_to(results.parent.parent)), "metrics": test["metrics"], "n_test": test["n"],
        "reference": test.get("reference"), "train_metrics": {"corr2": train["metrics"]["corr2"]},
        "n_train": train["n"], "published_train": None, "published_test": None}]
    results.write_text(json.dumps(result, indent=1))
    write_table(result, results.parent / "table.md")
    log(f"controls: mean spectrogram test corr2 {test['metrics']['corr2']['mean']:.3f}, "
        f"train corr2 {train['metrics']['corr2']['mean']:.3f}")


def parse_epochs(text: str) -> dict[str, int]:
    """'40' -> {'': 40} (every system); 'gp2s=12,lip2audspec=6' -> per system."""
    caps: dict[str, int] = {}
    try:
        for part in filter(None, text.split(",")):
            name, _, n = part.rpartition("=")
            caps[name] = int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-epochs: expected N or SYSTEM=N,..., got {text!r}") from None
    bad = [k for k in caps if k and k not in (*SYSTEMS, *VARIANTS)]
    if bad:
        raise argparse.ArgumentTypeError(f"--max-epochs: unknown system(s) {', '.join(bad)}")
    return caps


COMPARE = ("corr2", "corr2_ae", "stoi", "estoi", "pesq", "wacc", "wacc_lips", "wacc_orig")


def compare_rows(runs: dict[str, Path]) -> tuple[list[str], list[list[str]], int]:
    """Every metric of each run's test evaluation on the same clips: corr2 (and the AE ceiling) over all its test
    clips, waveform metrics over the clips every run has them for; plus corr2 on its training split. Returns the
    header, rows and the number of clips of the waveform metrics."""
    import math

    from lip2speech.evaluation.evaluate import load_summary, read_per_utterance

    per = {name: {r["key"]: r for r in read_per_utterance(run / "eval-test" / "per_utterance.csv")}
           for name, run in runs.items()}
    wave = set.intersection(*({k for k, r in rows.items() if not math.isnan(r["stoi"])} for rows in per.values()))
    header = ["system", *COMPARE, "train corr2"]
    out = []
    for name, rows in per.items():
        cells = [name]
        for m in COMPARE:
            keys = rows if m in ("corr2", "corr2_ae") else wave
            vals = [rows[k][m] for k in keys if not math.isnan(rows[k][m])]
            cells.append(f"{sum(vals) / len(vals):.3f}" if vals else "–")
        train = runs[name] / "eval-train" / "summary.json"
        cells.append(f"{load_summary(train.parent)['metrics']['corr2']['mean']:.3f}" if train.is_file() else "–")
        out.append(cells)
    return header, out, len(wave)


def run_times(runs: Path) -> list[list[str]]:
    """Per run folder under runs/: parameters, epochs done of max, median and total seconds per training epoch."""
    import yaml

    from lip2speech.training.metrics_csv import epoch_seconds

    rows = []
    for run in sorted(p for p in runs.iterdir() if (p / "summary.json").is_file()):
        summary = json.loads((run / "summary.json").read_text())
        config = yaml.safe_load((run / "config.yaml").read_text())
        max_epochs = (config.get("autoencoder", {}) if summary["system"] == "autoencoder" else config)["max_epochs"]
        secs = epoch_seconds(run)
        rows.append([run.name, f"{summary['params']:,}", f"{summary['epochs']}/{max_epochs}",
                     f"{np.median(secs):.1f}" if secs else "–", f"{sum(secs) / 60:.1f}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="GRID corpus holding s1/ (e.g. ../shared/data/grid-s1)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset (default: all three)")
    ap.add_argument("--train", default="train", help="training config (default: the published settings)")
    ap.add_argument("--max-epochs", type=parse_epochs, default={},
                    help="cap epochs: N for every run, or per system, GF2S variant or word-segment run, e.g. "
                         "gp2s=12,lip2audspec=6,gf2s-frames=10,gp2s-words=4 "
                         "(default: the config's, 40)")
    ap.add_argument("--ae-epochs", type=int, help="cap the autoencoder's epochs (default: the config's, 60)")
    ap.add_argument("--jobs", type=int, default=0, help="processes for prepare, training side by side and metrics "
                    "(0: all cores; training: 1 on a GPU)")
    ap.add_argument("--clips", type=int, help="only N clips of s1, spread over the corpus (a quick check)")
    ap.add_argument("--study-split", action="store_true",
                    help="also run the single-speaker experiment on the study's split (first 100 videos, 80/20)")
    ap.add_argument("--no-vocabulary", action="store_true", help="skip the vocabulary experiment")
    ap.add_argument("--waveform-utterances", type=int, help="per run, waveform metrics on the first N test clips")
    ap.add_argument("--invert-iters", type=int, help="spectrogram inversion iterations (default: its own, 20)")
    ap.add_argument("--gu2s", type=Path, nargs="*", default=[],
                    help="gu2s run folders (trained on the same s1 split at 16 kHz, evaluated with `lip2speech "
                         "evaluate RUN --corpus C` and `--split train --no-waveform`; for a shipped model, "
                         "the ./NAME-evaluations folder those commands write) to print beside the published "
                         "systems on the same test clips, each with its paired table (gu2s minus each system)")
    args = ap.parse_args()

    from lip2speech.evaluation.evaluate import EvalOptions, read_per_utterance
    from lip2speech.experiments.experiment import paired_rows, run_experiment
    from lip2speech.data.features import prepare
    from lip2speech.parallel import default_jobs
    from lip2speech.experiments.report import (PAIRED_NOTE, build_report, load_results, paired_table, paired_title, summary_text,
                                   text_table)
    from lip2speech.training.hardware import resolve_hardware, training_jobs
    from lip2speech.training.train_config import load_train_config

    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown system(s): {', '.join(unknown)} (choose from {', '.join(SYSTEMS)})")
    start = time.perf_counter()
    stamps: list[tuple[str, float]] = []

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - start:7.0f} s] {msg}", flush=True)

    def phase(name: str, t0: float) -> None:
        stamps.append((name, time.perf_counter() - t0))
        log(f"{name}: done in {stamps[-1][1]:.0f} s")

    jobs = args.jobs or default_jobs()
    train_jobs = training_jobs(resolve_hardware(load_train_config(args.train)), args.jobs)
    out = args.out
    corpus = subset_corpus(args.corpus, out / f"corpus-{args.clips}", args.clips) if args.clips else args.corpus
    features = out / "features"
    t0 = time.perf_counter()
    log(f"prepare {corpus} -> {features}")
    log(prepare(corpus, features, speakers=[SPEAKER], jobs=jobs, show_progress=False).summary())
    phase("prepare", t0)

    caps: dict[str, Any] = {}
    if "" in args.max_epochs:
        caps["max_epochs"] = args.max_epochs[""]
    caps["per_system"] = {s: {"max_epochs": n} for s, n in args.max_epochs.items() if s in SYSTEMS}
    if args.ae_epochs:
        caps["autoencoder"] = {"max_epochs": args.ae_epochs}


    def variant(tag: str, **over: Any) -> dict[str, Any]:
        """The train overrides of the GF2S variant run gf2s-<tag>: its own epoch cap where one is given."""
        n = args.max_epochs.get(f"gf2s-{tag}")
        return {**caps, **over, "per_system": {"gf2s": {"max_epochs": n}} if n else caps["per_system"]}
    evaluate = {"waveform_utterances": args.waveform_utterances, "invert_iters": args.invert_iters, "jobs": jobs}
    common = dict(speakers=[SPEAKER], train=args.train, eval_overrides=evaluate, corpus=corpus, jobs=train_jobs,
                  log=log, show_progress=False)
    gf = ["gf2s"] if "gf2s" in systems else []
    # (experiment, systems, train overrides, results label): every table of the report
    plan = [("single", systems, caps, None), ("single", gf, variant("frames", gf_input="frames"), None),
            ("single", gf, variant("shuffled", shuffle_lips=True), "controls")]
    if args.study_split:
        plan.append(("single", systems, {**caps, "split_protocol": "study"}, None))
    if not args.no_vocabulary:  # the word-segment runs <system>-words take their own caps where given
        words = {s: {"max_epochs": args.max_epochs[f"{s}-words"]} for s in systems if f"{s}-words" in args.max_epochs}
        plan.append(("vocabulary", systems, {**caps, "per_system": {**caps["per_system"], **words}}, None))
    plan = [p for p in plan if p[1]]
    t0 = time.perf_counter()
    for name, chosen, over, label in plan:  # all training first: the training processes fork before any torch
        run_experiment(name, features, out, systems=chosen, train_overrides=over, label=label, train_only=True,
                       **common)
    phase("training", t0)
    t0 = time.perf_counter()
    for name, chosen, over, label in plan:
        run_experiment(name, features, out, systems=chosen, train_overrides=over, label=label, **common)
    if gf:
        options = EvalOptions(**{k: v for k, v in evaluate.items() if v is not None})
        add_mean_control(out / "controls" / "results.json", out / "runs" / SPEAKER / "gf2s", features, corpus,
                         options, log)
    phase("evaluation", t0)
    t0 = time.perf_counter()
    html_path, md_path = build_report(out, title="lip2speech on real GRID (speaker s1)")
    phase("report", t0)

    print("\n" + summary_text(load_results(out)))
    print("\ntraining time per run (epoch seconds from metrics.csv; epochs done of the configured maximum)")
    print(text_table(["run", "params", "epochs", "s/epoch (median)", "training min"], run_times(out / "runs" / SPEAKER)))
    print("\nwall time per phase: " + ", ".join(f"{n} {s / 60:.1f} min" for n, s in stamps)
          + f"; total {(time.perf_counter() - start) / 60:.1f} min")
    print(f"report: {html_path} and {md_path}")
    runs = {s: out / "runs" / SPEAKER / s for s in systems}
    runs.update({f"gu2s ({run.name})": run for run in args.gu2s})
    runs = {name: run for name, run in runs.items() if (run / "eval-test" / "per_utterance.csv").is_file()}
    if len(runs) > 1:
        header, rows, n_wave = compare_rows(runs)
        print(f"\nevery system on the same test clips (corr2 and AE ceiling: all test clips; waveform metrics: the "
              f"{n_wave} clips all have them; train corr2: the training split)")
        print(text_table(header, rows))
        for ref in (name for name in runs if name.startswith("gu2s")):  # each gu2s run paired with the others
            per = {name: read_per_utterance(run / "eval-test" / "per_utterance.csv") for name, run in runs.items()
                   if name == ref or not name.startswith("gu2s")}
            result = {"paired": paired_rows(per, reference=ref)}
            print(f"\n{paired_title(result)}:\n{text_table(*paired_table(result))}\n{PAIRED_NOTE}")


if __name__ == "__main__":
    main()
