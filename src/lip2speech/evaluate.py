"""Evaluate a trained run on one split: per-utterance metrics (CSV), summary with 95% CIs (JSON), samples.

Output folder `RUN/eval-<split>/`:
  per_utterance.csv   key, speaker, words, hyp, hyp_orig, hyp_lips, corr2, corr2_ae, stoi, estoi, pesq, wacc,
                      wacc_orig, wacc_lips, notes (hyp_lips / wacc_lips: the words a gu2s run reads from the lips)
  per_word.csv        key, word, start_s, end_s, corr2: sentence runs: each aligned word's span of the utterance's
                      prediction; words-task runs: each word predicted as a word segment (Reconstructor.predict_words)
  summary.json        {run, split, task, n, reference, invert_iters, created, metrics: {name: mean_ci},
                       word_corr2: mean_ci over word occurrences}
  samples/<key>.npz   target, autoencoder, pred spectrograms (N,128); wav_ref, wav_pred (fs Hz); words; corr2s
  samples/<key>.mp4   the silent lip video with the reconstructed speech as its sound track
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from .errors import Lip2SpeechError
from .fileio import save_npz, write_json, write_text
from .metrics import corr2, mean_ci, pesq_nb_detail, recognise_grid, stoi_detail, word_accuracy
from .timebase import DEFAULT_FS, span_frames

#: Metric names in the CSV and summary, in order.
METRICS: tuple[str, ...] = ("corr2", "corr2_ae", "stoi", "estoi", "pesq", "wacc", "wacc_orig", "wacc_lips")
CSV_FIELDS: tuple[str, ...] = ("key", "speaker", "words", "hyp", "hyp_orig", "hyp_lips") + METRICS + ("notes",)


@dataclass
class EvalOptions:
    """How much of the evaluation to run: waveform metrics need a spectrogram inversion per utterance."""

    waveform: bool = True  # STOI, ESTOI, PESQ and word accuracy (needs inversion to audio)
    asr: bool = True  # word accuracy by pocketsphinx on the reconstruction and on the original
    invert_iters: int | None = None  # iterations of the spectrogram inversion (None: its default)
    max_utterances: int | None = None  # evaluate only the first N keys of the split (sorted)
    waveform_utterances: int | None = None  # waveform metrics on only the first N of those (corr2 on all)
    samples: int = 2  # utterances saved for the report (spectrograms, audio, video)
    jobs: int = 1  # processes for the waveform metrics
    seed: int = 0  # seed of the inversion's initial noise


def utterance_metrics(
    target: np.ndarray,
    pred: np.ndarray,
    autoencoded: np.ndarray | None = None,
    words: Sequence[str] = (),
    wav_ref: np.ndarray | None = None,
    wav_pred: np.ndarray | None = None,
    fs: int = DEFAULT_FS,
    asr: bool = True,
) -> dict[str, Any]:
    """All metrics of one utterance: spectrogram corr2s always, waveform metrics when both waveforms are given."""
    row: dict[str, Any] = {m: float("nan") for m in METRICS}
    notes: list[str] = []
    row["corr2"] = corr2(target, pred)
    if autoencoded is not None:
        row["corr2_ae"] = corr2(target, autoencoded)
    row["hyp"] = row["hyp_orig"] = ""
    if wav_ref is not None and wav_pred is not None:
        row["stoi"], why = stoi_detail(wav_ref, wav_pred, fs)
        notes += [why] if why else []
        row["estoi"], why = stoi_detail(wav_ref, wav_pred, fs, extended=True)
        row["pesq"], why = pesq_nb_detail(wav_ref, wav_pred, fs)
        notes += [why] if why else []
        if asr and len(words) == 6:
            hyp, hyp_orig = recognise_grid(wav_pred, fs), recognise_grid(wav_ref, fs)
            row["hyp"], row["hyp_orig"] = " ".join(hyp), " ".join(hyp_orig)
            row["wacc"], row["wacc_orig"] = word_accuracy(words, hyp), word_accuracy(words, hyp_orig)
        elif asr:
            notes.append("no GRID transcript: word accuracy skipped")
    row["notes"] = "; ".join(notes)
    return row


def word_corr2(target: np.ndarray, pred: np.ndarray, word_times: Sequence[tuple[str, float, float]] | None,
) -> list[tuple[str, float, float, float]]:
    """(word, start s, end s, corr2) over each aligned word's spectrogram frames (timebase.span_frames, as the
    vocabulary task trains on them; silences skipped)."""
    out = []
    for word, start, end in word_times or ():
        if word in ("sil", "sp"):
            continue
        frames = span_frames(start, end, min(len(target), len(pred)))
        if len(frames) >= 2:
            out.append((word, float(start), float(end), corr2(target[frames], pred[frames])))
    return out


def corpus_sources(corpus: str | Path) -> dict[str, dict[str, str]]:
    """key -> {audio_source, video_source}: the original files of each utterance of a corpus."""
    from .corpus import scan_corpus

    return {u.key: {"audio_source": str(u.audio_source), "video_source": str(u.video)}
            for u in scan_corpus(corpus).utterances}


def _invert(aud: np.ndarray, n_iter: int | None, seed: int, fs: int = DEFAULT_FS) -> np.ndarray:
    from .audio import invert_auditory_spectrogram

    return np.asarray(invert_auditory_spectrogram(np.asarray(aud, np.float64), fs=fs, n_iter=n_iter, seed=seed),
                      dtype=np.float64)


def reference_audio(item: Mapping[str, Any], n_iter: int | None, seed: int) -> tuple[np.ndarray, str]:
    """The original waveform (at item['fs'], default 8 kHz) of an item from its source file when it has one,
    else the inversion of its spectrogram; returns (waveform, 'original' | 'inverted target')."""
    fs = int(item.get("fs", DEFAULT_FS))
    src = item.get("audio_source")
    if src and Path(str(src)).is_file():
        from .audio import load_audio

        return np.asarray(load_audio(src, fs=fs), dtype=np.float64), "original"
    return _invert(item["aud"], n_iter, seed, fs), "inverted target"


def _waveform_job(args: tuple) -> dict[str, Any]:
    """Worker: inversion of the prediction (and reference) + all metrics of one utterance."""
    key, item_like, pred, ae, opts = args
    wav_ref, ref_kind = reference_audio(item_like, opts.invert_iters, opts.seed)
    fs = int(item_like.get("fs", DEFAULT_FS))
    wav_pred = _invert(pred, opts.invert_iters, opts.seed, fs)
    row = utterance_metrics(item_like["aud"], pred, ae, item_like.get("words", ()), wav_ref, wav_pred, fs, opts.asr)
    row.update(key=key, reference=ref_kind, wav_ref=wav_ref.astype(np.float32), wav_pred=wav_pred.astype(np.float32))
    return row


def _silent_video(item: Mapping[str, Any]) -> tuple[np.ndarray, float] | None:
    """Frames (T,H,W,3) uint8 and fps of the item's source video, else of its grey face crops (scaled x3)."""
    src = item.get("video_source")
    if src and Path(str(src)).is_file():
        from .video.io import read_video

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
    video = _silent_video(item)
    if video is not None and row.get("wav_pred") is not None:
        from .video.io import write_video

        write_video(path.with_suffix(".mp4"), video[0], video[1], audio=row["wav_pred"],
                    audio_fs=int(item.get("fs", DEFAULT_FS)))
    return path


def _csv_text(rows: Sequence[Mapping[str, Any]], fields: Sequence[str] = CSV_FIELDS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def read_per_utterance(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a per_utterance.csv with metrics as floats (NaN where empty)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for m in METRICS:
            row[m] = float(row[m]) if row.get(m) not in (None, "", "nan") else float("nan")
    return rows


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """metric -> mean with 95% confidence interval over the rows."""
    return {m: mean_ci([float(r[m]) for r in rows]) for m in METRICS}


def evaluate_run(run_dir: str | Path, split: str = "test", options: EvalOptions | None = None,
                 corpus: str | Path | None = None, force: bool = False, show_progress: bool = True,
                 features: str | Path | None = None, speakers: Sequence[str] | None = None,
                 self_normalise: bool = False) -> Path:
    """Evaluate `run_dir` on `split` of its own features, or on every utterance of another prepared features
    folder `features` (only `speakers` when given); writes RUN/eval-<split | folder name>/ and returns that folder
    (reused if up to date). Utterances that cannot be read or predicted are reported in the summary and skipped.

    With `corpus`, STOI/PESQ/word accuracy compare against the original recordings and the sample videos
    use the original video; without it, against the inversion of the target spectrogram and face crops.
    Speakers the run has no statistics for are normalised by their own utterance (as `speak` does);
    `self_normalise` treats every speaker so (another corpus whose speaker names clash with the run's)."""
    from .inference import load_run

    from .shipped import is_shipped, resolve_run

    opts = options or EvalOptions()
    shipped = is_shipped(run_dir)
    home = Path(f"{run_dir}-evaluations") if shipped else Path(run_dir)  # a shipped model: ./NAME-evaluations
    if shipped and features is None:
        raise Lip2SpeechError(f"{run_dir} is a shipped model: give the prepared clips to score with --features")
    run_dir = resolve_run(run_dir)
    scope = None if features is None else {"features": str(Path(features).resolve()),
                                            "speakers": sorted(speakers or []), "self_normalise": self_normalise}
    out = home / f"eval-{split if features is None else eval_name(run_dir, features)}"
    if not force and _up_to_date(out, run_dir, opts, scope):
        return out
    rec = load_run(run_dir)
    if features is None:
        features_dir, keys = rec.features_dir, _split_keys(run_dir, split, rec)
        if not keys:
            raise Lip2SpeechError(f"split '{split}' has no utterances", run_dir / "split.json")
    else:
        features_dir, keys = Path(features), features_keys(rec, features, speakers)
    extra = {"run": str(run_dir), **({} if scope is None else {"scope": scope, "features": scope["features"]})}
    return evaluate_predictor(rec, features_dir, keys, out, opts, corpus, self_normalise, show_progress, extra)


class Predictor(Protocol):
    """What evaluate_predictor scores: a trained run (inference.Reconstructor) or a control
    (controls.MeanSpectrogram)."""

    system: str
    task: str  # sentence | words (what it was trained on)
    fs: int  # Hz, the audio rate of its spectrograms
    reads_words: bool  # whether predict_utterance also reads the words from the lips (gu2s)

    def predict_spectrogram(self, item: Mapping[str, Any]) -> np.ndarray: ...

    def autoencode(self, aud: np.ndarray) -> np.ndarray | None: ...


def evaluate_predictor(rec: Predictor, features_dir: str | Path, keys: Sequence[str], out: str | Path,
                       options: EvalOptions | None = None, corpus: str | Path | None = None,
                       self_normalise: bool = False, show_progress: bool = True,
                       extra: Mapping[str, Any] | None = None) -> Path:
    """Score a predictor on `keys` of `features_dir` into folder `out` (per_utterance.csv, per_word.csv,
    summary.json with `extra` merged in, samples/); returns `out`. `rec` is a Predictor: a run, or a control
    such as the mean training spectrogram."""
    opts, out = options or EvalOptions(), Path(out)
    if opts.max_utterances is not None:
        keys = list(keys)[: opts.max_utterances]
    sources = corpus_sources(corpus) if corpus is not None else {}
    name = out.name[len("eval-"):] if out.name.startswith("eval-") else out.name
    preds, words_rows, failures = _predict_all(rec, Path(features_dir), keys, sources, self_normalise,
                                               name, show_progress)
    rows, wave_failures = _score_all(preds, opts, name, show_progress)
    for row in rows[: opts.samples]:
        item, pred, ae = preds[row["key"]]
        write_sample(out / "samples", row["key"], item, row, pred, ae)
    write_text(out / "per_utterance.csv", _csv_text(rows))
    write_text(out / "per_word.csv", _csv_text(words_rows, ("key", "word", "start_s", "end_s", "corr2")))
    summary = {
        "split": name, "n": len(rows), "failures": failures + wave_failures,
        "reference": sorted({r.get("reference", "") for r in rows} - {""}),
        "options": asdict(opts), "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "metrics": summarise(rows), "task": rec.task,
        "word_corr2": mean_ci([float(r["corr2"]) for r in words_rows]), **(extra or {}),
    }
    write_json(out / "summary.json", summary)
    return out


def eval_name(run_dir: str | Path, features: str | Path) -> str:
    """Name of the evaluation of another features folder: the folder's name ('features-<name>' when it is also
    the name of one of the run's splits)."""
    import json

    name = Path(features).resolve().name
    split_path = Path(run_dir) / "split.json"
    splits = json.loads(split_path.read_text()) if split_path.is_file() else {}
    return f"features-{name}" if name in splits or name in ("train", "val", "test") else name


def features_keys(rec: Any, features: str | Path, speakers: Sequence[str] | None = None) -> list[str]:
    """Every utterance key of another features folder (of `speakers` only when given), checked against the run's
    feature configuration; Lip2SpeechError for another configuration, missing speakers or no utterances."""
    from .store import FeatureStore

    rec.check_features(features)
    keys = sorted(FeatureStore(features).keys(speakers or ()))
    if not keys:
        raise Lip2SpeechError("features folder has no utterances to evaluate", features)
    return keys


def _up_to_date(out: Path, run_dir: Path, opts: EvalOptions, scope: dict[str, Any] | None) -> bool:
    """Whether out/summary.json is newer than the run's model and was made with these options and scope."""
    import json

    ckpt, summary_path = run_dir / "model.ckpt", out / "summary.json"
    if not (summary_path.is_file() and ckpt.is_file() and summary_path.stat().st_mtime >= ckpt.stat().st_mtime):
        return False
    old = json.loads(summary_path.read_text())
    same = lambda o: {k: v for k, v in (o or {}).items() if k != "jobs"}  # noqa: E731 - jobs: speed only
    return same(old.get("options")) == same(asdict(opts)) and old.get("scope") == scope


def _predict_all(rec: Any, features_dir: Path, keys: Sequence[str], sources: Mapping[str, Any],
                 self_normalise: bool, name: str, show_progress: bool
                 ) -> tuple[dict[str, tuple[Any, np.ndarray, np.ndarray | None]], list[dict[str, Any]], list[str]]:
    """Prediction, autoencoder ceiling and word scores of every key: ({key: (item, pred, ae)}, per-word rows,
    failures); an item that cannot be read or predicted is a failure line, not an exception."""
    from tqdm import tqdm

    from .store import load_item

    preds: dict[str, tuple[Any, np.ndarray, np.ndarray | None]] = {}
    words_rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for key in tqdm(keys, desc=f"predict {name}", unit="utt", disable=not show_progress, dynamic_ncols=True):
        try:
            item = {**load_item(features_dir, key), **sources.get(key, {}), "fs": rec.fs}
            seen_as = {**item, "speaker": None} if self_normalise else item
            if rec.reads_words:  # gu2s: the spectrogram and the words read from the lips in one pass
                pred, item["hyp_lips"] = rec.predict_utterance(seen_as["lips"], seen_as.get("speaker"),
                                                               len(item["aud"]))
            else:
                pred = rec.predict_spectrogram(seen_as)
            pred = np.asarray(pred, dtype=np.float64)
            ceiling = rec.autoencode(item["aud"])  # the autoencoder's reconstruction: the ceiling, if it has one
            ae = None if ceiling is None else np.asarray(ceiling, dtype=np.float64)
            words = _word_scores(rec, seen_as, pred)
        except Lip2SpeechError as exc:
            failures.append(f"{key}: {exc}")
            continue
        preds[key] = (item, pred, ae)
        words_rows += [{"key": key, "word": w, "start_s": f"{a:.3f}", "end_s": f"{b:.3f}", "corr2": f"{c:.6g}"}
                       for w, a, b, c in words]
    if not preds:
        raise Lip2SpeechError(f"no utterance could be evaluated ({len(failures)} failed; first: {failures[0]})"
                              if failures else "no utterances to evaluate", features_dir)
    return preds, words_rows, failures


def _score_all(preds: Mapping[str, tuple[Any, np.ndarray, np.ndarray | None]], opts: EvalOptions, name: str,
               show_progress: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-utterance metric rows (waveform metrics on the first opts.waveform_utterances) and failure lines."""
    from .parallel import run_jobs

    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    wave_keys = list(preds)[: opts.waveform_utterances] if opts.waveform else []
    if wave_keys:
        jobs = [(k, _portable(preds[k][0]), preds[k][1], preds[k][2], opts) for k in wave_keys]
        report = run_jobs(_waveform_job, jobs, jobs=opts.jobs, desc=f"invert + metrics {name}",
                          show_progress=show_progress)
        rows, failures = report.results, report.failures
    for k, (item, pred, ae) in preds.items():
        if k not in wave_keys:
            rows.append({**utterance_metrics(item["aud"], pred, ae), "key": k, "reference": ""})
    for row in rows:
        item = preds[row["key"]][0]
        row["speaker"] = item.get("speaker", row["key"].split("/")[0])
        row["words"] = " ".join(item.get("words", ()) or ())
        if item.get("hyp_lips") is not None:  # lip reading: the words the model read, scored like the recogniser's
            row["hyp_lips"] = " ".join(item["hyp_lips"])
            if len(item.get("words", ()) or ()) == 6:
                row["wacc_lips"] = word_accuracy(item["words"], item["hyp_lips"])
    return rows, failures


def _word_scores(rec: Any, item: Mapping[str, Any], pred: np.ndarray) -> list[tuple[str, float, float, float]]:
    """(word, start s, end s, corr2) of every aligned word: a words-task run predicts each word segment on its
    own (as trained); a sentence run is scored on each word's span of its whole-utterance prediction."""
    if rec.task == "words":
        return [(w.word, w.start_s, w.end_s, corr2(w.target, w.pred)) for w in rec.predict_words(item)]
    return word_corr2(item["aud"], pred, item.get("word_times"))


def _portable(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an item a worker process needs, as plain picklable values."""
    out = {"aud": np.asarray(item["aud"]), "words": tuple(item.get("words", ()) or ())}
    for key in ("audio_source", "video_source", "fs"):
        if key in item:
            out[key] = item[key]
    return out


def _split_keys(run_dir: Path, split: str, rec: Any) -> list[str]:
    import json

    path = run_dir / "split.json"
    if path.is_file():
        splits = json.loads(path.read_text())
        if split not in splits:
            raise Lip2SpeechError(f"unknown split '{split}' (have {', '.join(splits)})", path)
        return sorted(splits[split])
    raise Lip2SpeechError("run has no split.json", run_dir)


def load_summary(eval_dir: str | Path) -> dict[str, Any]:
    """The summary.json of an evaluation folder."""
    import json

    path = Path(eval_dir) / "summary.json"
    if not path.is_file():
        raise Lip2SpeechError("no summary.json (evaluation not run)", path)
    return json.loads(path.read_text())
