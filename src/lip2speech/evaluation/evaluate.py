"""Evaluate a trained run (or a control) on one split or on another features folder, in three steps:
predict (every utterance's spectrogram, autoencoder ceiling and words read from the lips; unreadable items are
reported and skipped) -> score (`scoring`: metrics per utterance and word) -> write (`eval_folder`: the
`RUN/eval-<name>/` folder, its tables, samples and summary)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from . import eval_folder as EF
from .eval_folder import load_summary, read_per_utterance, write_sample  # noqa: F401 - the evaluation API
from .metrics import corr2, mean_ci
from .scoring import EvalOptions, score_all, summarise, utterance_metrics, word_corr2  # noqa: F401

#: One prediction: (item with its sources and fs, predicted spectrogram, autoencoder reconstruction or None).
Prediction = tuple[dict[str, Any], np.ndarray, "np.ndarray | None"]


def evaluate_run(run_dir: str | Path, split: str = "test", options: EvalOptions | None = None,
                 corpus: str | Path | Sequence[str | Path] | None = None, force: bool = False,
                 show_progress: bool = True, features: str | Path | None = None, speakers: Sequence[str] | None = None,
                 self_normalise: bool = False, sources: Mapping[str, Mapping[str, str]] | None = None,
                 own_split: bool = False) -> Path:
    """Evaluate `run_dir` on `split` of its own features, or on every utterance of another prepared features
    folder `features` (only `speakers` when given), or with `own_split` on its `split` found in `features` (a
    shipped model's test split on clips the user prepared); writes RUN/eval-<split | folder name>/ and returns
    that folder (reused if up to date). Utterances that cannot be read or predicted are reported in the summary
    and skipped.

    With `corpus` (one folder or several), STOI/PESQ/word accuracy compare against the original recordings and the
    sample videos
    use the original video; without it, against the inversion of the target spectrogram and face crops.
    Speakers the run has no statistics for are normalised by their own utterance (as `speak` does);
    `self_normalise` treats every speaker so (another corpus whose speaker names clash with the run's).
    `sources` (corpus_sources of `corpus`, computed once by a caller evaluating many runs) saves the rescan."""
    from ..inference import load_run

    from ..training.shipped import is_shipped, resolve_run

    opts = options or EvalOptions()
    shipped = is_shipped(run_dir)
    home = Path(f"{run_dir}-evaluations") if shipped else Path(run_dir)  # a shipped model: ./NAME-evaluations
    if shipped and features is None:
        raise Lip2SpeechError(f"{run_dir} is a shipped model: give the prepared clips to score with --features")
    if own_split and (features is None or speakers):
        raise Lip2SpeechError("a run's own split read from another features folder (--split with --features) "
                              "needs that folder and takes no --speakers")
    run_dir = resolve_run(run_dir)
    scope = None if features is None else {"features": str(Path(features).resolve()),
                                            "speakers": sorted(speakers or []), "self_normalise": self_normalise,
                                            **({"split": split} if own_split else {})}
    out = home / f"eval-{split if features is None or own_split else eval_name(run_dir, features)}"
    if not force and EF.up_to_date(out, run_dir, opts, scope):
        return out
    rec = load_run(run_dir)
    if features is None or own_split:
        keys = _split_keys(run_dir, split, rec)
        if not keys:
            raise Lip2SpeechError(f"split '{split}' has no utterances", run_dir / "split.json")
    if features is None:
        features_dir = rec.features_dir
    elif own_split:  # a shipped model has no features folder of its own
        features_dir = Path(features)
        missing = sorted(set(keys) - set(features_keys(rec, features_dir)))
        if missing:
            raise Lip2SpeechError(f"{len(missing)} of the {len(keys)} utterances of split '{split}' are not "
                                  f"prepared here (e.g. {missing[0]})", features_dir)
    else:
        features_dir, keys = Path(features), features_keys(rec, features, speakers)
    extra = {"run": str(run_dir), **({} if scope is None else {"scope": scope, "features": scope["features"]})}
    from ..data.mouth_scale import features_scale_warning

    warning = features_scale_warning(getattr(rec, "mouth_width", None), features_dir)
    if warning:
        extra["framing_warning"] = warning
    return evaluate_predictor(rec, features_dir, keys, out, opts, corpus, self_normalise, show_progress, extra,
                              sources)


class Predictor(Protocol):
    """What evaluate_predictor scores: a trained run (inference.Reconstructor) or a control
    (controls.MeanSpectrogram). predict_utterance is called only when reads_words, predict_words only when task
    is 'words'."""

    system: str
    task: str  # sentence | words (what it was trained on)
    fs: int  # Hz, the audio rate of its spectrograms
    reads_words: bool  # whether predict_utterance also reads the words from the lips (gu2s)

    def predict_spectrogram(self, item: Mapping[str, Any]) -> np.ndarray: ...

    def autoencode(self, aud: np.ndarray) -> np.ndarray | None: ...

    def predict_utterance(self, lips: Mapping[str, Any], speaker: str | None, n_aud: int
                          ) -> tuple[np.ndarray, list[str]]: ...

    def predict_words(self, item: Mapping[str, Any]) -> list[Any]: ...


def evaluate_predictor(rec: Predictor, features_dir: str | Path, keys: Sequence[str], out: str | Path,
                       options: EvalOptions | None = None,
                       corpus: str | Path | Sequence[str | Path] | None = None,
                       self_normalise: bool = False, show_progress: bool = True,
                       extra: Mapping[str, Any] | None = None,
                       sources: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Score a predictor on `keys` of `features_dir` into folder `out` (per_utterance.csv, per_word.csv,
    summary.json with `extra` merged in, samples/); returns `out`. `rec` is a Predictor: a run, or a control
    such as the mean training spectrogram."""
    opts, out = options or EvalOptions(), Path(out)
    if opts.max_utterances is not None:
        keys = list(keys)[: opts.max_utterances]
    if sources is None:
        sources = corpus_sources(corpus) if corpus is not None else {}
    name = out.name[len("eval-"):] if out.name.startswith("eval-") else out.name
    preds, words_rows, failures = predict_all(rec, Path(features_dir), keys, sources, self_normalise,
                                              name, show_progress)
    rows, wave_failures = score_all(preds, opts, name, show_progress)
    for row in rows[: opts.samples]:
        item, pred, ae = preds[row["key"]]
        write_sample(out / "samples", row["key"], item, row, pred, ae)
    EF.write_tables(out, rows, words_rows)
    EF.write_summary(out, {
        "split": name, "n": len(rows), "failures": failures + wave_failures,
        "reference": sorted({r.get("reference", "") for r in rows} - {""}),
        "options": asdict(opts), "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "metrics": summarise(rows), "task": rec.task,
        "word_corr2": mean_ci([float(r["corr2"]) for r in words_rows]), **(extra or {}),
    })
    return out


def eval_name(run_dir: str | Path, features: str | Path) -> str:
    """Name of the evaluation of another features folder: the folder's name ('features-<name>' when it is also
    the name of one of the run's splits)."""
    from ..training.run_folder import SPLIT_FILE, read_split

    name = Path(features).resolve().name
    split_path = Path(run_dir) / SPLIT_FILE
    splits = read_split(split_path) if split_path.is_file() else {}
    return f"features-{name}" if name in splits or name in ("train", "val", "test") else name


def features_keys(rec: Any, features: str | Path, speakers: Sequence[str] | None = None) -> list[str]:
    """Every utterance key of another features folder (of `speakers` only when given), checked against the run's
    feature configuration; Lip2SpeechError for another configuration, missing speakers or no utterances."""
    from ..data.store import FeatureStore

    rec.check_features(features)
    keys = sorted(FeatureStore(features).keys(speakers or ()))
    if not keys:
        raise Lip2SpeechError("features folder has no utterances to evaluate", features)
    return keys


def predict_all(rec: Predictor, features_dir: Path, keys: Sequence[str], sources: Mapping[str, Any],
                 self_normalise: bool, name: str, show_progress: bool
                 ) -> tuple[dict[str, Prediction], list[dict[str, Any]], list[str]]:
    """Prediction, autoencoder ceiling and word scores of every key: ({key: (item, pred, ae)}, per-word rows,
    failures); an item that cannot be read or predicted is a failure line, not an exception."""
    from tqdm import tqdm

    from ..data.store import load_item

    preds: dict[str, Prediction] = {}
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


def _word_scores(rec: Predictor, item: Mapping[str, Any], pred: np.ndarray) -> list[tuple[str, float, float, float]]:
    """(word, start s, end s, corr2) of every aligned word: a words-task run predicts each word segment on its
    own (as trained); a sentence run is scored on each word's span of its whole-utterance prediction."""
    if rec.task == "words":
        return [(w.word, w.start_s, w.end_s, corr2(w.target, w.pred)) for w in rec.predict_words(item)]
    return word_corr2(item["aud"], pred, item.get("word_times"))


def corpus_sources(corpus: str | Path | Sequence[str | Path]) -> dict[str, dict[str, str]]:
    """key -> {audio_source, video_source}: the original files of each utterance of a corpus, or of several (the
    features folder prepared from all of them; a key in two corpora is refused)."""
    from ..corpus import scan_corpus

    sources: dict[str, dict[str, str]] = {}
    for folder in [corpus] if isinstance(corpus, (str, Path)) else corpus:
        for u in scan_corpus(folder).utterances:
            if u.key in sources:
                raise Lip2SpeechError(f"utterance {u.key} is in two of the corpora given (also "
                                      f"{sources[u.key]['video_source']})", u.video)
            sources[u.key] = {"audio_source": str(u.audio_source), "video_source": str(u.video)}
    return sources


def _split_keys(run_dir: Path, split: str, rec: Predictor) -> list[str]:
    from ..training.run_folder import SPLIT_FILE, read_split

    path = run_dir / SPLIT_FILE
    if path.is_file():
        splits = read_split(path)
        if split not in splits:
            raise Lip2SpeechError(f"unknown split '{split}' (have {', '.join(splits)})", path)
        return sorted(splits[split])
    raise Lip2SpeechError("run has no split.json", run_dir)
