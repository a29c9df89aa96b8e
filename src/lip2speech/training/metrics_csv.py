"""metrics.csv, the per-epoch log of a run folder (one row per logged step: epoch, step, losses, seconds): its
only writer, a Lightning CSV logger that keeps the rows of the run it resumes and replaces the file whole."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from ..fileio import write_text


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a metrics.csv (column name -> text; '' where a row has no value); [] when there is none."""
    if not path.is_file():
        return []
    return list(csv.DictReader(io.StringIO(path.read_text())))


def epoch_seconds(run: Path) -> list[float]:
    """Wall time (s) of each training epoch a run folder's metrics.csv logs, in order (other rows left out)."""
    return [float(r["epoch_seconds"]) for r in read_rows(Path(run) / "metrics.csv") if r.get("epoch_seconds")]


def rows_text(rows: list[dict[str, Any]]) -> str:
    """CSV text of `rows` under one sorted header of every column any row has."""
    keys = sorted(set().union(*rows)) if rows else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class _KeptRowsWriter(ExperimentWriter):
    """Lightning's writer, changed in two ways. Lightning deletes an existing metrics.csv when its writer starts
    and, when a new column appears, truncates the file before writing it again: a Ctrl-C between the two left a
    file without its header, whose rows a resumed run then read under a header of numbers. Here the earlier rows
    are kept, and every save writes the whole file to a temporary one renamed onto it."""

    def _check_log_dir_exists(self) -> None:  # keep the rows of the run being resumed
        pass

    def save(self) -> None:
        if not self.metrics:
            return
        path = Path(self.metrics_file_path)
        write_text(path, rows_text(read_rows(path) + self.metrics))
        self.metrics = []


class RunCsvLogger(CSVLogger):
    """CSVLogger writing `out_dir`/metrics.csv with _KeptRowsWriter (rank 0 only, as Lightning's)."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__(out_dir, name="", version="")

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeptRowsWriter(log_dir=self.log_dir)
        return self._experiment
