"""Train many runs (an experiment's): in turn, or side by side in processes with each speaker set's first run
(which trains the autoencoder the set shares) before the others; finished runs are reused, failures reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import Lip2SpeechError


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
    from ..parallel import run_jobs

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
