"""The published experiments (single speaker, multi-speaker, vocabulary): train, evaluate, tabulate vs published.

An experiment is described by a YAML file in configs/experiments/ (`single`, `multi`, `vocabulary`, or a path).
Output folder DIR (shared by all experiments, so identical runs are trained once):
  runs/<speakers>/<system>/        training run (training.train) + eval-test/ (evaluation.evaluate);
                                   systems of one speaker set share the autoencoder run beside them
  runs/<speakers>/<system>-words/  the same for runs trained on word segments (task: words, vocabulary); other
                                   variants add their tag: -frames (GF2S on 5 x 14 frames), -study-split,
                                   -shuffled (lips shuffled across utterances); eval-train/ holds corr2 on the
                                   training split
  <label>/results.json             rows (system, condition, metrics with 95% CIs on test, corr2 on train, the
                                   published train and test values), samples; label: the experiment's name
  <label>/table.md                 the same table as Markdown (single speaker: and gu2s minus each system,
                                   paired per test utterance, under `paired` in results.json)
Everything is resumable: finished runs and up-to-date evaluations are reused.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..corpus.records import natural_key
from ..errors import Lip2SpeechError
from ..fileio import write_json, write_text
from ..models.systems import PUBLISHED_SYSTEMS, SYSTEMS
from ..training.batch_training import train_runs
from .published import HEADLINE, PUBLISHED, pub_values, published  # noqa: F401 - experiments.PUBLISHED is the API

EXPERIMENTS_DIR = Path(__file__).parents[1] / "configs" / "experiments"
#: Single-speaker tables compare this system with every other one, utterance by utterance, on these metrics.
PAIRED_REFERENCE = "gu2s"
PAIRED_METRICS = ("wacc", "stoi", "estoi", "corr2")


@dataclass
class ExperimentSpec:
    """One experiment (from configs/experiments/<name>.yaml)."""

    experiment: str = "single"  # single | multi | vocabulary
    systems: tuple[str, ...] = PUBLISHED_SYSTEMS
    train: Any = "train"  # TrainConfig name/path, or {system: name/path}
    train_overrides: dict = field(default_factory=dict)
    speakers: tuple[str, ...] = ()  # empty: all speakers of the features folder (natural order)
    speaker_counts: tuple[int, ...] = ()  # multi: first n speakers
    split: str = "test"
    evaluate_train: bool = True  # also corr2 (only: no inversion) on each run's training split
    evaluate: dict = field(default_factory=dict)  # EvalOptions fields


def load_spec(name: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentSpec:
    """The experiment `name` (single, multi, vocabulary) or a YAML path, with `overrides` applied."""
    from ..config import load_config

    path = Path(name)
    if not path.is_file():
        path = EXPERIMENTS_DIR / f"{name}.yaml"
        if not path.is_file():
            have = ", ".join(p.stem for p in sorted(EXPERIMENTS_DIR.glob("*.yaml")) if p.stem != "base")
            raise Lip2SpeechError(f"unknown experiment {name!r} (choose from {have} or give a YAML path)")
    spec = load_config(ExperimentSpec, path, {k: v for k, v in (overrides or {}).items() if v is not None})
    if spec.experiment not in PUBLISHED:
        raise Lip2SpeechError(f"experiment must be one of {', '.join(PUBLISHED)}, got {spec.experiment!r}", path)

    unknown = [s for s in spec.systems if s not in SYSTEMS]  # the published three by default; gu2s on request
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


def run_folder(out: Path, speakers: Sequence[str], system: str, task: str = "sentence",
               tags: Sequence[str] = ()) -> Path:
    """Run folder of one system on a speaker set; runs of another task than sentences, or of a variant
    (variant_tags), get their own folder."""
    return out / "runs" / run_tag(speakers) / "-".join([system, *([task] if task != "sentence" else []), *tags])


def _override_tags(overrides: dict[str, Any]) -> list[str]:
    """Tags of the variant named by train overrides (the results label of a variant experiment)."""
    return ((["frames"] if overrides.get("gf_input") == "frames" else [])
            + (["study-split"] if overrides.get("split_protocol") == "study" else [])
            + (["shuffled"] if overrides.get("shuffle_lips") else []))


def variant_tags(cfg: Any) -> list[str]:
    """Folder tags of a TrainConfig's non-default variants: frames (GF2S on 5 x 14 frames), study-split, shuffled."""
    tags = ["frames"] if cfg.system == "gf2s" and cfg.gf_input == "frames" else []
    tags += ["study-split"] if cfg.split_protocol == "study" else []
    return tags + (["shuffled"] if cfg.shuffle_lips else [])


def run_tag(speakers: Sequence[str]) -> str:
    """Folder name of a speaker set: 's1', 's1+s2', or 'n8-s1..s8' for long lists."""
    return "+".join(speakers) if len(speakers) <= 4 else f"n{len(speakers)}-{speakers[0]}..{speakers[-1]}"


def train_config_for(spec: ExperimentSpec, system: str, speakers: Sequence[str]):  # type: ignore[no-untyped-def]
    """The TrainConfig of one run: the spec's train config for `system` (its per-system variant if packaged)."""
    from ..training.train_config import load_train_config

    train = spec.train.get(system, "train") if isinstance(spec.train, dict) else str(spec.train)
    overrides = dict(spec.train_overrides)
    overrides.update(overrides.pop("per_system", {}).get(system, {}))  # e.g. {"gu2s": {"max_epochs": 12}}
    overrides.update(system=system, speakers=list(speakers))
    return load_train_config(train, overrides)


def _eval_options(spec: ExperimentSpec, extra: dict[str, Any] | None):  # type: ignore[no-untyped-def]
    from ..config import from_dict
    from ..evaluation.evaluate import EvalOptions

    data = {**spec.evaluate, **{k: v for k, v in (extra or {}).items() if v is not None}}
    return from_dict(EvalOptions, data, "evaluate options")


def _published_for(spec: ExperimentSpec, kind: str, system: str, condition: Any) -> dict[str, float | None]:
    """The published values of a row; none for the shuffled-lips control (the study has no such run)."""
    return pub_values(None) if spec.train_overrides.get("shuffle_lips") else published(kind, system, condition)


def _with_published(row: dict[str, Any], pub: dict[str, float | None]) -> dict[str, Any]:
    row.update(published_train=pub["train"], published_test=pub["test"])
    return row


def _word_table(runs: dict[str, Path], split: str) -> tuple[dict[str, dict[str, float]], dict[str, list[float]]]:
    """word -> system -> mean corr2 over its occurrences, and system -> all per-word-occurrence corr2s."""
    import csv

    import numpy as np

    from ..corpus.grammar import WORDS

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


def paired_rows(per_utterance: dict[str, list[dict[str, Any]]], reference: str = PAIRED_REFERENCE
                ) -> dict[str, Any]:
    """`reference` minus every other system on the test utterances both were scored on: per metric the mean
    paired difference, its 95% CI and the reference's wins / ties / losses; {reference, rows}."""
    from ..evaluation.metrics import paired_difference

    ref = {r["key"]: r for r in per_utterance[reference]}
    if len(ref) < len(per_utterance[reference]):
        raise Lip2SpeechError(f"{reference}: the same utterance key twice in its scores; cannot pair them")
    rows = []
    for system, items in per_utterance.items():
        if system == reference:
            continue
        other = {r["key"]: r for r in items}
        keys = sorted(set(ref) & set(other), key=natural_key)
        rows.append({"system": system, "n": len(keys), "metrics": {
            m: paired_difference([ref[k][m] for k in keys], [other[k][m] for k in keys]) for m in PAIRED_METRICS}})
    return {"reference": reference, "metrics": list(PAIRED_METRICS), "rows": rows}


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
    label: str | None = None,
) -> Path:
    """Train and evaluate every run of experiment `name`, write DIR/<label>/results.json; returns it.

    Each run is scored on its test split (every metric of `spec.evaluate`) and, when spec.evaluate_train, on its
    training split (corr2 only). `jobs` > 1 trains independent runs side by side in that many processes;
    `train_only` stops after training; `label` names the results folder (default: the experiment, plus the tags
    of a variant's train_overrides, e.g. single-frames), so that variants keep their own tables."""
    from ..evaluation.evaluate import corpus_sources, evaluate_run, load_summary, read_per_utterance, summarise
    from ..data.store import load_manifest
    from ..evaluation.metrics import mean_ci

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
    label = label or "-".join([kind, *_override_tags(spec.train_overrides)])
    log(f"{label}: {len(conds)} condition(s) x {len(spec.systems)} system(s) = {total} run(s) in {out / 'runs'}")
    rows: list[dict[str, Any]] = []
    runs_by_condition: dict[str, dict[str, Path]] = {}
    pooled: dict[str, list[dict[str, Any]]] = {}
    pooled_train: dict[str, list[float]] = {}
    plan: list[tuple[str, Any, Path]] = []
    errors: dict[Path, str] = {}
    run_dirs: dict[tuple[str, str], Path] = {}
    task = str(spec.train_overrides.get("task", "sentence"))
    for cond, spk in conds:
        for system in spec.systems:
            try:
                cfg = train_config_for(spec, system, spk)
                run_dirs[cond, system] = run_dir = run_folder(out, spk, system, cfg.task, variant_tags(cfg))
                plan.append((f"{label} {cond} {system}", cfg, run_dir))
            except Lip2SpeechError as exc:
                run_dirs[cond, system] = run_dir = run_folder(out, spk, system, task)
                errors[run_dir] = str(exc)
    errors.update(train_runs(plan, features, jobs=jobs, show_progress=show_progress, log=log))
    if train_only:
        return out / label
    train_opts = dataclasses.replace(opts, waveform=False, asr=False, samples=0, waveform_utterances=None)
    sources = corpus_sources(corpus) if corpus is not None else None  # the corpus is scanned once, not per run
    step = 0
    for cond, spk in conds:
        for system in spec.systems:
            step += 1
            run_dir = run_dirs[cond, system]
            row: dict[str, Any] = {"system": system, "condition": cond, "n_speakers": len(spk),
                                   "speakers": list(spk), "run": str(run_dir.relative_to(out))}
            _with_published(row, _published_for(spec, kind, system, cond if kind == "single" else len(spk)))
            try:
                if run_dir in errors:
                    raise Lip2SpeechError(errors[run_dir])
                log(f"[{step}/{total}] {label} {cond} {system}: evaluating on '{spec.split}'")
                eval_dir = evaluate_run(run_dir, spec.split, opts, corpus=corpus, show_progress=show_progress,
                                        sources=sources)
            except Lip2SpeechError as exc:
                log(f"[{step}/{total}] {label} {cond} {system}: FAILED: {exc}")
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
            if spec.evaluate_train:
                scores += _score_train_split(row, run_dir, train_opts, pooled_train, show_progress, log)
            log(f"[{step}/{total}] {label} {cond} {system}: test {scores}")
    result: dict[str, Any] = {"experiment": kind, "created": _dt.datetime.now().isoformat(timespec="seconds"),
                              "features": str(features), "spec": dataclasses.asdict(spec), "rows": rows}
    if kind == "single":  # the published number is the mean over speakers: add one pooled row per system
        for system in spec.systems:
            if pooled.get(system):
                rows.append(_with_published(
                    {"system": system, "condition": "all speakers", "n_speakers": 1, "aggregate": True,
                     "speakers": [c for c, _ in conds], "metrics": summarise(pooled[system]),
                     "train_metrics": ({"corr2": mean_ci(pooled_train[system])} if pooled_train.get(system)
                                       else {})},
                    _published_for(spec, kind, system, "mean")))
        if PAIRED_REFERENCE in pooled and len(pooled) > 1:
            result["paired"] = paired_rows(pooled)
    if kind == "vocabulary":
        for cond, runs in runs_by_condition.items():
            table, per_word = _word_table(runs, spec.split)
            _, per_word_train = _word_table(runs, "train") if spec.evaluate_train else ({}, {})
            result["words"] = table
            for row in rows:
                if row["system"] in per_word and row["condition"] == cond:
                    row["metrics"] = {**row["metrics"], "corr2_sentence": row["metrics"].get("corr2"),
                                      "corr2": mean_ci(per_word[row["system"]])}
                if row["system"] in per_word_train and row["condition"] == cond:
                    row["train_metrics"] = {"corr2_sentence": row.get("train_metrics", {}).get("corr2"),
                                            "corr2": mean_ci(per_word_train[row["system"]])}
        result["note"] = ("corr2 per word segment of runs trained on word segments (2 slices per word), averaged "
                          "over word occurrences" if task == "words" else
                          "corr2 per aligned word span of sentence-trained runs, averaged over word occurrences")
    # multi-speaker: samples of the largest speaker set (the smaller ones are usually the single-speaker runs)
    ordered = dict(reversed(list(runs_by_condition.items()))) if kind == "multi" else runs_by_condition
    result["samples"] = _samples(ordered, out / label, spec.split)
    if label != kind:
        result["label"] = label
    path = out / label / "results.json"
    write_json(path, result)
    write_table(result, out / label / "table.md")
    return path


def _score_train_split(row: dict[str, Any], run_dir: Path, opts: Any, pooled: dict[str, list[float]],
                       show_progress: bool, log: Callable[[str], None]) -> str:
    """corr2 of a run on its training split into row["train_metrics"] (pooled per system); returns a log suffix."""
    from ..evaluation.evaluate import evaluate_run, load_summary, read_per_utterance

    try:
        eval_dir = evaluate_run(run_dir, "train", opts, corpus=None, show_progress=show_progress)
    except Lip2SpeechError as exc:
        log(f"  {row['system']} {row['condition']}: training split not scored: {exc}")
        row["train_error"] = str(exc)
        return ""
    summary = load_summary(eval_dir)
    row.update(train_metrics={"corr2": summary["metrics"]["corr2"]}, n_train=summary["n"])
    pooled.setdefault(row["system"], []).extend(r["corr2"] for r in read_per_utterance(eval_dir / "per_utterance.csv"))
    if summary.get("task") == "words" and summary.get("word_corr2"):
        return f", train corr2 per word {summary['word_corr2']['mean']:.3f}"
    return f", train corr2 {summary['metrics']['corr2']['mean']:.3f}"


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


def write_table(result: dict[str, Any], path: Path) -> None:
    """The results table of `result` as Markdown, with the note on what its columns are."""
    from .report import PAIRED_NOTE, TABLE_HEADER, TABLE_NOTE, markdown_table, paired_table, paired_title, table_rows

    text = markdown_table(TABLE_HEADER, table_rows(result)) + f"\n\n{TABLE_NOTE}\n"
    if result.get("paired"):
        text += f"\n{paired_title(result)}:\n\n{markdown_table(*paired_table(result))}\n\n{PAIRED_NOTE}\n"
    write_text(path, text)


def print_results(path: str | Path, log: Callable[[str], None] = print) -> None:
    """Print an experiment's table (ours beside published) to the terminal."""
    from .report import summary_text

    log(summary_text([json.loads(Path(path).read_text())]))
