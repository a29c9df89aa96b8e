"""The published experiments (single speaker, multi-speaker, vocabulary): train, evaluate, tabulate vs published.

An experiment is described by a YAML file in configs/experiments/ (`single`, `multi`, `vocabulary`, or a path).
Output folder DIR (shared by all experiments, so identical runs are trained once):
  runs/<speakers>/<system>/        training run (lip2speech.train) + eval-test/ (lip2speech.evaluate);
                                   systems of one speaker set share the autoencoder run beside them
  runs/<speakers>/<system>-words/  the same for runs trained on word segments (task: words, vocabulary)
  <experiment>/results.json        rows (system, condition, metrics with 95% CIs, published value), samples
  <experiment>/table.md            the same table as Markdown
Everything is resumable: finished runs and up-to-date evaluations are reused.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .corpus.grid import natural_key
from .errors import Lip2SpeechError
from .fileio import write_json, write_text

EXPERIMENTS_DIR = Path(__file__).parent / "configs" / "experiments"
SYSTEMS: tuple[str, ...] = ("gf2s", "gp2s", "lip2audspec")

#: Published corr2 (accuracy) of the original study (see docs: seed-systems.md). PUBLISHED VALUES, not ours.
PUBLISHED: dict[str, dict[str, Any]] = {
    "single": {"gp2s": 0.73, "gf2s": 0.72, "lip2audspec": 0.63},  # mean over speakers
    "multi": {  # by number of speakers
        "gf2s": {1: 0.72, 2: 0.68, 4: 0.71, 6: 0.65, 8: 0.61},
        "gp2s": {1: 0.73, 2: 0.72, 4: 0.56, 6: 0.54, 8: 0.50},
        "lip2audspec": {1: 0.63, 2: 0.40, 4: 0.39, 6: 0.33, 8: 0.29},
    },
    "vocabulary": {"gp2s": 0.74, "gf2s": 0.81},  # mean over words; Lip2AudSpec not published
}


@dataclass
class ExperimentSpec:
    """One experiment (from configs/experiments/<name>.yaml)."""

    experiment: str = "single"  # single | multi | vocabulary
    systems: tuple[str, ...] = SYSTEMS
    train: Any = "train"  # TrainConfig name/path, or {system: name/path}
    train_overrides: dict = field(default_factory=dict)
    speakers: tuple[str, ...] = ()  # empty: all speakers of the features folder (natural order)
    speaker_counts: tuple[int, ...] = ()  # multi: first n speakers
    split: str = "test"
    evaluate: dict = field(default_factory=dict)  # EvalOptions fields


def load_spec(name: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentSpec:
    """The experiment `name` (single, multi, vocabulary) or a YAML path, with `overrides` applied."""
    from .config import load_config

    path = Path(name)
    if not path.is_file():
        path = EXPERIMENTS_DIR / f"{name}.yaml"
        if not path.is_file():
            have = ", ".join(p.stem for p in sorted(EXPERIMENTS_DIR.glob("*.yaml")) if p.stem != "base")
            raise Lip2SpeechError(f"unknown experiment {name!r} (choose from {have} or give a YAML path)")
    spec = load_config(ExperimentSpec, path, {k: v for k, v in (overrides or {}).items() if v is not None})
    if spec.experiment not in PUBLISHED:
        raise Lip2SpeechError(f"experiment must be one of {', '.join(PUBLISHED)}, got {spec.experiment!r}", path)
    unknown = [s for s in spec.systems if s not in SYSTEMS]
    if unknown:
        raise Lip2SpeechError(f"unknown systems: {', '.join(unknown)} (choose from {', '.join(SYSTEMS)})", path)
    if spec.experiment == "multi" and not spec.speaker_counts:
        raise Lip2SpeechError("a multi-speaker experiment needs speaker_counts", path)
    return spec


def conditions(spec: ExperimentSpec, available: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(condition name, speakers) of every training run of the experiment."""
    available = sorted(available, key=natural_key)
    speakers = tuple(spec.speakers) or tuple(available)
    missing = [s for s in speakers if s not in available]
    if spec.experiment == "multi":
        counts = sorted(set(spec.speaker_counts))
        need = speakers[: max(counts)]
        missing = [s for s in need if s not in available]
        if len(need) < max(counts):
            raise Lip2SpeechError(f"multi-speaker needs {max(counts)} speakers, the list has {len(speakers)}")
    if missing:
        raise Lip2SpeechError(f"speakers not in the features folder: {', '.join(missing)} "
                              f"(have {', '.join(available)}); choose others with --speakers")
    if spec.experiment == "single":
        return [(s, (s,)) for s in speakers]
    if spec.experiment == "multi":
        return [(f"{n} speaker{'s' if n > 1 else ''}", speakers[:n]) for n in counts]
    return [("+".join(speakers) if len(speakers) <= 3 else f"{len(speakers)} speakers", speakers)]


def run_folder(out: Path, speakers: Sequence[str], system: str, task: str = "sentence") -> Path:
    """Run folder of one system on a speaker set; runs of another task than sentences get their own folder."""
    return out / "runs" / run_tag(speakers) / (system if task == "sentence" else f"{system}-{task}")


def run_tag(speakers: Sequence[str]) -> str:
    """Folder name of a speaker set: 's1', 's1+s2', or 'n8-s1..s8' for long lists."""
    return "+".join(speakers) if len(speakers) <= 4 else f"n{len(speakers)}-{speakers[0]}..{speakers[-1]}"


def train_config_for(spec: ExperimentSpec, system: str, speakers: Sequence[str]):  # type: ignore[no-untyped-def]
    """The TrainConfig of one run: the spec's train config for `system` (its per-system variant if packaged)."""
    from .train import load_train_config

    train = spec.train.get(system, "train") if isinstance(spec.train, dict) else str(spec.train)
    overrides = dict(spec.train_overrides)
    overrides.update(system=system, speakers=list(speakers))
    return load_train_config(train, overrides)


def _eval_options(spec: ExperimentSpec, extra: dict[str, Any] | None):  # type: ignore[no-untyped-def]
    from .config import from_dict
    from .evaluate import EvalOptions

    data = {**spec.evaluate, **{k: v for k, v in (extra or {}).items() if v is not None}}
    return from_dict(EvalOptions, data, "evaluate options")


def _train_job(args: tuple[str, Any, str, str, bool]) -> tuple[str, str, float]:
    """Worker: train one run; returns (run folder, error message or '', seconds)."""
    import time

    from .train import train_system

    label, cfg, features, run_dir, show_progress = args
    t0 = time.perf_counter()
    try:
        train_system(cfg, features, run_dir, resume=True, show_progress=show_progress)
    except Lip2SpeechError as exc:
        return run_dir, str(exc), time.perf_counter() - t0
    return run_dir, "", time.perf_counter() - t0


def train_runs(plan: Sequence[tuple[str, Any, Path]], features: str | Path, jobs: int = 1,
               show_progress: bool = True, log: Callable[[str], None] = print) -> dict[Path, str]:
    """Train every planned (label, TrainConfig, run folder); finished runs are reused. Returns run -> error.

    With jobs > 1 the runs train in parallel processes: first one run per speaker set (it trains the
    autoencoder the set's systems share), then all the others. Call it before the process has run any torch
    computation (forked workers).
    """
    from .parallel import run_jobs

    errors: dict[Path, str] = {}
    todo = [p for p in plan if not ((p[2] / "summary.json").is_file() and (p[2] / "model.ckpt").is_file())]
    if len(todo) < len(plan):
        log(f"training: reusing {len(plan) - len(todo)} finished run(s)")
    if jobs <= 1 or len(todo) <= 1:
        for i, (label, cfg, run_dir) in enumerate(todo, 1):
            log(f"[{i}/{len(todo)}] {label}: training ({run_dir})")
            _, err, secs = _train_job((label, cfg, str(features), str(run_dir), show_progress))
            log(f"[{i}/{len(todo)}] {label}: " + (f"FAILED: {err}" if err else f"trained in {secs:.0f} s"))
            if err:
                errors[run_dir] = err
        return errors
    firsts: dict[Path, tuple] = {}
    for p in todo:
        firsts.setdefault(p[2].parent, p)
    cost = lambda p: {"lip2audspec": 4, "gp2s": 2}.get(p[1].system, 1) * max(1, len(p[1].speakers))  # noqa: E731
    # longest runs first, so the processes finish together
    phases = [sorted(firsts.values(), key=cost, reverse=True),
              sorted((p for p in todo if p not in firsts.values()), key=cost, reverse=True)]
    for n, phase in enumerate(p for p in phases if p):
        log(f"training {len(phase)} run(s) on {jobs} processes"
            + (" (one per speaker set, with its autoencoder)" if n == 0 and len(phases[1]) else "") + ": "
            + ", ".join(label for label, _, _ in phase))
        items = [(label, cfg, str(features), str(run_dir), False) for label, cfg, run_dir in phase]
        report = run_jobs(_train_job, items, jobs=jobs, desc="train", show_progress=show_progress)
        done = {Path(r[0]) for r in report.results}
        for run_dir, err, secs in report.results:
            label = next(lbl for lbl, _, d in phase if d == Path(run_dir))
            log(f"  {label}: " + (f"FAILED: {err}" if err else f"trained in {secs:.0f} s"))
            if err:
                errors[Path(run_dir)] = err
        for label, _, run_dir in phase:
            if run_dir not in done:
                errors[run_dir] = "training process failed: " + "; ".join(report.failures)[:300]
    return errors


def _published(kind: str, system: str, n_speakers: int | None) -> float | None:
    pub = PUBLISHED.get(kind, {}).get(system)
    if isinstance(pub, dict):
        return pub.get(n_speakers) if n_speakers is not None else None
    return pub


def _word_table(runs: dict[str, Path], split: str) -> tuple[dict[str, dict[str, float]], dict[str, list[float]]]:
    """word -> system -> mean corr2 over its occurrences, and system -> all per-word-occurrence corr2s."""
    import csv

    import numpy as np

    from .corpus.grammar import WORDS

    acc: dict[str, dict[str, list[float]]] = {}
    pooled: dict[str, list[float]] = {}
    for system, run in runs.items():
        path = run / f"eval-{split}" / "per_word.csv"
        if not path.is_file():
            continue
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                v = float(r["corr2"])
                acc.setdefault(r["word"], {}).setdefault(system, []).append(v)
                pooled.setdefault(system, []).append(v)
    order = {w: i for i, w in enumerate(WORDS)}
    table = {w: {s: float(np.nanmean(v)) for s, v in acc[w].items()} for w in sorted(acc, key=lambda w: order.get(w, 99))}
    return table, pooled


def run_experiment(
    name: str | Path,
    features: str | Path,
    out: str | Path,
    systems: Sequence[str] | None = None,
    speakers: Sequence[str] | None = None,
    speaker_counts: Sequence[int] | None = None,
    train: str | None = None,
    train_overrides: dict[str, Any] | None = None,
    eval_overrides: dict[str, Any] | None = None,
    corpus: str | Path | None = None,
    jobs: int = 1,
    train_only: bool = False,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Train and evaluate every run of experiment `name`, write DIR/<experiment>/results.json; returns it.

    `jobs` > 1 trains independent runs side by side in that many processes; `train_only` stops after training."""
    from .evaluate import evaluate_run, load_summary, read_per_utterance, summarise
    from .features import load_manifest

    overrides: dict[str, Any] = {"systems": list(systems) if systems else None,
                                 "speakers": list(speakers) if speakers else None,
                                 "speaker_counts": list(speaker_counts) if speaker_counts else None, "train": train}
    spec = load_spec(name, overrides)
    if train_overrides:
        spec.train_overrides = {**spec.train_overrides, **train_overrides}
    features, out = Path(features), Path(out)
    manifest = load_manifest(features)
    conds = conditions(spec, sorted({e["speaker"] for e in manifest.values()}))
    opts = _eval_options(spec, eval_overrides)
    kind = spec.experiment
    total = len(conds) * len(spec.systems)
    log(f"{kind}: {len(conds)} condition(s) x {len(spec.systems)} system(s) = {total} run(s) in {out / 'runs'}")
    rows: list[dict[str, Any]] = []
    runs_by_condition: dict[str, dict[str, Path]] = {}
    pooled: dict[str, list[dict[str, Any]]] = {}
    plan: list[tuple[str, Any, Path]] = []
    errors: dict[Path, str] = {}
    run_dirs: dict[tuple[str, str], Path] = {}
    task = str(spec.train_overrides.get("task", "sentence"))
    for cond, spk in conds:
        for system in spec.systems:
            try:
                cfg = train_config_for(spec, system, spk)
                run_dirs[cond, system] = run_dir = run_folder(out, spk, system, cfg.task)
                plan.append((f"{kind} {cond} {system}", cfg, run_dir))
            except Lip2SpeechError as exc:
                run_dirs[cond, system] = run_dir = run_folder(out, spk, system, task)
                errors[run_dir] = str(exc)
    errors.update(train_runs(plan, features, jobs=jobs, show_progress=show_progress, log=log))
    if train_only:
        return out / kind
    step = 0
    for cond, spk in conds:
        for system in spec.systems:
            step += 1
            run_dir = run_dirs[cond, system]
            row: dict[str, Any] = {"system": system, "condition": cond, "n_speakers": len(spk),
                                   "speakers": list(spk), "run": str(run_dir.relative_to(out)),
                                   "published_corr2": None if kind == "single" else _published(kind, system, len(spk))}
            try:
                if run_dir in errors:
                    raise Lip2SpeechError(errors[run_dir])
                log(f"[{step}/{total}] {kind} {cond} {system}: evaluating on '{spec.split}'")
                eval_dir = evaluate_run(run_dir, spec.split, opts, corpus=corpus, show_progress=show_progress)
            except Lip2SpeechError as exc:
                log(f"[{step}/{total}] {kind} {cond} {system}: FAILED: {exc}")
                row.update(error=str(exc), metrics={})
                rows.append(row)
                continue
            summary = load_summary(eval_dir)
            row.update(metrics=summary["metrics"], n_test=summary["n"], reference=summary.get("reference"))
            rows.append(row)
            runs_by_condition.setdefault(cond, {})[system] = run_dir
            pooled.setdefault(system, []).extend(read_per_utterance(eval_dir / "per_utterance.csv"))
            scores = f"corr2 {summary['metrics']['corr2']['mean']:.3f}"
            if summary.get("task") == "words" and summary.get("word_corr2"):
                scores = f"corr2 per word {summary['word_corr2']['mean']:.3f} (whole utterances: {scores[6:]})"
            log(f"[{step}/{total}] {kind} {cond} {system}: {scores}")
    result: dict[str, Any] = {"experiment": kind, "created": _dt.datetime.now().isoformat(timespec="seconds"),
                              "features": str(features), "spec": dataclasses.asdict(spec), "rows": rows}
    if kind == "single":  # the published number is the mean over speakers: add one pooled row per system
        for system in spec.systems:
            if pooled.get(system):
                rows.append({"system": system, "condition": "all speakers", "n_speakers": 1, "aggregate": True,
                             "speakers": [c for c, _ in conds], "metrics": summarise(pooled[system]),
                             "published_corr2": _published(kind, system, None)})
    if kind == "vocabulary":
        for cond, runs in runs_by_condition.items():
            table, per_word = _word_table(runs, spec.split)
            result["words"] = table
            from .metrics import mean_ci

            for row in rows:
                if row["system"] in per_word and row["condition"] == cond:
                    row["metrics"] = {**row["metrics"], "corr2_sentence": row["metrics"].get("corr2"),
                                      "corr2": mean_ci(per_word[row["system"]])}
                    row["published_corr2"] = _published(kind, row["system"], None)
        words_runs = [r for r in rows if r["run"].endswith("-words")]
        result["note"] = ("corr2 per word segment of runs trained on word segments (2 slices per word), averaged "
                          "over word occurrences" if words_runs else
                          "corr2 per aligned word span of sentence-trained runs, averaged over word occurrences")
    # multi-speaker: samples of the largest speaker set (the smaller ones are usually the single-speaker runs)
    ordered = dict(reversed(list(runs_by_condition.items()))) if kind == "multi" else runs_by_condition
    result["samples"] = _samples(ordered, out / kind, spec.split)
    path = out / kind / "results.json"
    write_json(path, result)
    _write_table(result, out / kind / "table.md")
    return path


def _samples(runs_by_condition: dict[str, dict[str, Path]], base: Path, split: str) -> list[dict[str, Any]]:
    """Sample utterances of the first condition (in the given order) with samples, with each system's file."""
    import os

    for cond, runs in runs_by_condition.items():
        per_system = {s: sorted((r / f"eval-{split}" / "samples").glob("*.npz")) for s, r in runs.items()}
        common = set.intersection(*({p.stem for p in v} for v in per_system.values())) if per_system else set()
        samples = []
        for stem in sorted(common):
            samples.append({"key": stem.replace("_", "/", 1), "condition": cond,
                            "systems": {s: os.path.relpath(r / f"eval-{split}" / "samples" / f"{stem}.npz", base)
                                        for s, r in runs.items()}})
        if samples:
            return samples
    return []


def _write_table(result: dict[str, Any], path: Path) -> None:
    from .report import TABLE_HEADER, markdown_table, table_rows

    write_text(path, markdown_table(TABLE_HEADER, table_rows(result)) + "\n")


def print_results(path: str | Path, log: Callable[[str], None] = print) -> None:
    """Print an experiment's table (ours beside published) to the terminal."""
    from .report import summary_text

    log(summary_text([json.loads(Path(path).read_text())]))
