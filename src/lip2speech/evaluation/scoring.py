"""Score predictions: the metrics of one utterance (spectrogram corr2s; after inversion to audio STOI, ESTOI,
PESQ and the recogniser's word accuracy), each aligned word's corr2, and summaries with 95% intervals."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .metrics import METRIC_RANGES, corr2, mean_ci, pesq_nb_detail, recognise_grid, stoi_detail, word_accuracy
from ..timebase import DEFAULT_FS, span_frames

#: Metric names in the CSV and summary, in order.
METRICS: tuple[str, ...] = ("corr2", "corr2_ae", "stoi", "estoi", "pesq", "wacc", "wacc_orig", "wacc_lips")


@dataclass
class EvalOptions:
    """How much of the evaluation to run: waveform metrics need a spectrogram inversion per utterance."""

    waveform: bool = True  # STOI, ESTOI, PESQ and word accuracy (needs inversion to audio)
    asr: bool = True  # word accuracy by pocketsphinx on the reconstruction and on the original
    invert_iters: int | None = None  # iterations of the spectrogram inversion (None: its default)
    invert_method: str = "lbfgs"  # the inversion: lbfgs (20 iterations by default) or cg (speak's, 1)
    invert_start: str = "sine"  # its starting waveform: sine (channel sinusoids) or harmonic (speak's)
    invert_f0: float = 90.0  # the harmonic start's f0 in Hz
    max_utterances: int | None = None  # evaluate only the first N keys of the split (sorted)
    waveform_utterances: int | None = None  # waveform metrics on only the first N of those (corr2 on all)
    samples: int = 2  # utterances saved for the report (spectrograms, audio, video)
    jobs: int = 1  # processes for the waveform metrics
    seed: int = 0  # seed of the inversion's initial noise

    def with_speak_inversion(self) -> "EvalOptions":
        """These options with `speak`'s inversion (method, iterations, start, f0) instead of their own."""
        from ..inference.speak_inversion import SPEAK_F0, SPEAK_ITERS, SPEAK_METHOD, SPEAK_START

        return replace(self, invert_method=SPEAK_METHOD, invert_iters=SPEAK_ITERS, invert_start=SPEAK_START,
                       invert_f0=SPEAK_F0)


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


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """metric -> mean with 95% confidence interval over the rows."""
    return {m: mean_ci([float(r[m]) for r in rows], bounds=METRIC_RANGES.get(m)) for m in METRICS}


def invert(aud: np.ndarray, opts: EvalOptions, fs: int = DEFAULT_FS) -> np.ndarray:
    """Waveform (float64 at fs Hz) of a spectrogram (N, 128) by the inversion the options choose."""
    from ..audio import invert_auditory_spectrogram

    return np.asarray(invert_auditory_spectrogram(np.asarray(aud, np.float64), fs=fs, n_iter=opts.invert_iters,
                                                  seed=opts.seed, method=opts.invert_method,
                                                  init=opts.invert_start, f0=opts.invert_f0), dtype=np.float64)


def reference_audio(item: Mapping[str, Any], opts: EvalOptions) -> tuple[np.ndarray, str]:
    """The original waveform (at item['fs'], default 8 kHz) of an item from its source file when it has one,
    else the inversion of its spectrogram; returns (waveform, 'original' | 'inverted target')."""
    fs = int(item.get("fs", DEFAULT_FS))
    src = item.get("audio_source")
    if src and Path(str(src)).is_file():
        from ..audio import load_audio

        return np.asarray(load_audio(src, fs=fs), dtype=np.float64), "original"
    return invert(item["aud"], opts, fs), "inverted target"


def waveform_job(args: tuple) -> dict[str, Any]:
    """Worker: inversion of the prediction (and reference) + all metrics of one utterance."""
    key, item_like, pred, ae, opts = args
    wav_ref, ref_kind = reference_audio(item_like, opts)
    fs = int(item_like.get("fs", DEFAULT_FS))
    wav_pred = invert(pred, opts, fs)
    row = utterance_metrics(item_like["aud"], pred, ae, item_like.get("words", ()), wav_ref, wav_pred, fs, opts.asr)
    row.update(key=key, reference=ref_kind, wav_ref=wav_ref.astype(np.float32), wav_pred=wav_pred.astype(np.float32))
    return row


def score_all(preds: Mapping[str, tuple[Any, np.ndarray, np.ndarray | None]], opts: EvalOptions, name: str,
               show_progress: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-utterance metric rows (waveform metrics on the first opts.waveform_utterances) and failure lines."""
    from ..parallel import run_jobs

    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    wave_keys = list(preds)[: opts.waveform_utterances] if opts.waveform else []
    if wave_keys:
        jobs = [(k, portable(preds[k][0]), preds[k][1], preds[k][2], opts) for k in wave_keys]
        report = run_jobs(waveform_job, jobs, jobs=opts.jobs, desc=f"invert + metrics {name}",
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


def portable(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an item a worker process needs, as plain picklable values."""
    out = {"aud": np.asarray(item["aud"]), "words": tuple(item.get("words", ()) or ())}
    for key in ("audio_source", "video_source", "fs"):
        if key in item:
            out[key] = item[key]
    return out
