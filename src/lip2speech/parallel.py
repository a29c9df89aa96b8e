"""Run a function over many items on several processes, with progress, skipping failures."""

from __future__ import annotations

import concurrent.futures as cf
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from tqdm import tqdm

from .errors import Lip2SpeechError


@dataclass
class JobReport:
    """Results of successful items (in input order) and one line per failed item."""

    results: list[Any] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def default_jobs() -> int:
    """Number of usable CPU cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _describe(item: Any, exc: BaseException) -> str:
    if isinstance(exc, Lip2SpeechError):
        return str(exc)
    return f"{item}: {type(exc).__name__}: {exc}"


def run_jobs(
    fn: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    jobs: int = 1,
    desc: str = "items",
    show_progress: bool = True,
) -> JobReport:
    """Apply `fn` to every item with `jobs` processes; a failing item is reported, not fatal."""
    items = list(items)
    report = JobReport()
    done: dict[int, Any] = {}
    bar = tqdm(total=len(items), desc=desc, unit="item", disable=not show_progress, dynamic_ncols=True)
    if jobs <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            try:
                done[i] = fn(item)
            except Exception as exc:  # noqa: BLE001 - skip and report any bad item
                report.failures.append(_describe(item, exc))
            bar.update(1)
    else:
        with cf.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for fut in cf.as_completed(futures):
                i = futures[fut]
                try:
                    done[i] = fut.result()
                except Exception as exc:  # noqa: BLE001
                    report.failures.append(_describe(items[i], exc))
                bar.update(1)
    bar.close()
    report.results = [done[i] for i in sorted(done)]
    return report
