"""The evaluation folder `RUN/eval-<split | features>/`, its one writer and reader:
  per_utterance.csv   key, speaker, words, hyp, hyp_orig, hyp_lips, corr2, corr2_ae, stoi, estoi, pesq, wacc,
                      wacc_orig, wacc_lips, notes (hyp_lips / wacc_lips: the words a gu2s run reads from the lips)
  per_word.csv        key, word, start_s, end_s, corr2: sentence runs: each aligned word's span of the utterance's
                      prediction; words-task runs: each word predicted as a word segment (Reconstructor.predict_words)
  summary.json        {run, split, task, n, reference, options, created, metrics: {name: mean_ci},
                       word_corr2: mean_ci over word occurrences, failures}
  samples/<key>.npz   target, autoencoder, pred spectrograms (N,128); wav_ref, wav_pred (fs Hz); words; corr2s
  samples/<key>.mp4   the silent lip video with the reconstructed speech as its sound track
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import save_npz, write_json, write_text
from ..timebase import DEFAULT_FS
from .scoring import METRICS, EvalOptions

CSV_FIELDS: tuple[str, ...] = ("key", "speaker", "words", "hyp", "hyp_orig", "hyp_lips") + METRICS + ("notes",)
WORD_FIELDS: tuple[str, ...] = ("key", "word", "start_s", "end_s", "corr2")


def silent_video(item: Mapping[str, Any]) -> tuple[np.ndarray, float] | None:
    """Frames (T,H,W,3) uint8 and fps of the item's source video, else of its grey face crops (scaled x3)."""
    src = item.get("video_source")
    if src and Path(str(src)).is_file():
        from ..video.io import read_video

        video = read_video(src)
        return video.frames, float(video.fps)
    lips = item.get("lips")
    if lips is None:
        return None
    try:
        faces = np.asarray(lips["faces"])
        fps = float(lips["fps"])
    except (KeyError, TypeError):
        return None
    if faces.ndim != 3 or not len(faces):
        return None
    faces = np.repeat(np.repeat(faces, 3, axis=1), 3, axis=2)
    return np.repeat(faces[..., None], 3, axis=-1).astype(np.uint8), fps


def write_sample(folder: str | Path, key: str, item: Mapping[str, Any], row: Mapping[str, Any], pred: np.ndarray,
                 ae: np.ndarray | None) -> Path:
    """Save one sample utterance for the report (npz, plus an MP4 when a video or face crops exist)."""
    path = Path(folder) / f"{key.replace('/', '_')}.npz"
    arrays: dict[str, Any] = {
        "key": np.str_(key), "words": np.str_(" ".join(item.get("words", ()) or ())),
        "fs": np.int64(item.get("fs", DEFAULT_FS)),
        "target": np.asarray(item["aud"], np.float32), "pred": np.asarray(pred, np.float32),
        "corr2": np.float64(row["corr2"]), "corr2_ae": np.float64(row["corr2_ae"]),
    }
    if ae is not None:
        arrays["autoencoder"] = np.asarray(ae, np.float32)
    for name in ("wav_ref", "wav_pred"):
        if row.get(name) is not None:
            arrays[name] = np.asarray(row[name], np.float32)
    save_npz(path, **arrays)
    video = silent_video(item)
    if video is not None and row.get("wav_pred") is not None:
        from ..video.io import write_video

        write_video(path.with_suffix(".mp4"), video[0], video[1], audio=row["wav_pred"],
                    audio_fs=int(item.get("fs", DEFAULT_FS)))
    return path


def csv_text(rows: Sequence[Mapping[str, Any]], fields: Sequence[str] = CSV_FIELDS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def write_tables(out: str | Path, rows: Sequence[Mapping[str, Any]], word_rows: Sequence[Mapping[str, Any]]) -> None:
    """per_utterance.csv and per_word.csv of an evaluation folder."""
    write_text(Path(out) / "per_utterance.csv", csv_text(rows))
    write_text(Path(out) / "per_word.csv", csv_text(word_rows, WORD_FIELDS))


def write_summary(out: str | Path, summary: Mapping[str, Any]) -> None:
    """summary.json of an evaluation folder (written last: its presence marks the evaluation complete)."""
    write_json(Path(out) / "summary.json", dict(summary))


def read_per_utterance(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a per_utterance.csv with metrics as floats (NaN where empty)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for m in METRICS:
            row[m] = float(row[m]) if row.get(m) not in (None, "", "nan") else float("nan")
    return rows


def load_summary(eval_dir: str | Path) -> dict[str, Any]:
    """The summary.json of an evaluation folder."""
    import json

    path = Path(eval_dir) / "summary.json"
    if not path.is_file():
        raise Lip2SpeechError("no summary.json (evaluation not run)", path)
    return json.loads(path.read_text())


def up_to_date(out: Path, run_dir: Path, opts: EvalOptions, scope: dict[str, Any] | None) -> bool:
    """Whether out/summary.json is newer than the run's model and was made with these options and scope."""
    import json

    ckpt, summary_path = run_dir / "model.ckpt", out / "summary.json"
    if not (summary_path.is_file() and ckpt.is_file() and summary_path.stat().st_mtime >= ckpt.stat().st_mtime):
        return False
    old = json.loads(summary_path.read_text())
    # jobs: speed only; an option a summary lacks (older than the option) was at its default
    same = lambda o: {k: v for k, v in {**asdict(EvalOptions()), **(o or {})}.items() if k != "jobs"}  # noqa: E731
    return same(old.get("options")) == same(asdict(opts)) and old.get("scope") == scope
