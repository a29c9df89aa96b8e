"""Evaluation of a run: per-utterance metrics, CSV/summary consistency, resume, per-word corr2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.evaluation import evaluate as E
from lip2speech.evaluation.metrics import corr2


def test_utterance_metrics_spectrogram_only_and_with_waveforms():
    rng = np.random.default_rng(0)
    target = rng.random((200, 128))
    pred = target + 0.5 * rng.random((200, 128))
    row = E.utterance_metrics(target, pred, autoencoded=target * 2)
    assert row["corr2"] == pytest.approx(np.corrcoef(target.ravel(), pred.ravel())[0, 1])
    assert row["corr2_ae"] == pytest.approx(1.0)
    assert np.isnan(row["stoi"]) and np.isnan(row["pesq"]) and np.isnan(row["wacc"])
    t = np.arange(16000) / 8000
    wav = np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    row = E.utterance_metrics(target, pred, wav_ref=wav, wav_pred=wav + 0.3 * rng.standard_normal(t.size),
                              words=(), asr=True)
    assert 0 < row["stoi"] < 1 and -0.5 <= row["pesq"] <= 4.65
    assert "word accuracy skipped" in row["notes"]


def test_word_corr2_slices_each_aligned_word():
    rng = np.random.default_rng(1)
    target, pred = rng.random((300, 128)), rng.random((300, 128))
    times = [("sil", 0.0, 0.4), ("bin", 0.4, 0.8), ("blue", 0.8, 1.2), ("sp", 1.2, 1.3)]
    out = E.word_corr2(target, pred, times)
    assert [w for w, *_ in out] == ["bin", "blue"]
    assert out[0][3] == pytest.approx(corr2(target[50:100], pred[50:100]))
    assert E.word_corr2(target, pred, None) == []


class _FakeRun:
    """An evaluate.Predictor standing in for inference.Reconstructor: prediction = target + seeded noise, the
    autoencoder ceiling = target + a tenth of that noise."""

    system, task = "gf2s", "sentence"
    fs = 8000  # the audio rate of the run's features (Hz)
    reads_words = False  # only gu2s runs read the words from the lips

    def __init__(self, features_dir: Path, noise: float) -> None:
        self.features_dir, self.noise = features_dir, noise

    def predict_spectrogram(self, item):
        rng = np.random.default_rng(len(item["key"]))
        return item["aud"] + self.noise * rng.random(item["aud"].shape)

    def autoencode(self, aud):
        return aud + 0.1 * self.noise * np.random.default_rng(len(aud)).random(aud.shape)

    def check_features(self, features_dir):
        from lip2speech.data.store import FEATURE_CONFIG, check_features_config

        check_features_config(features_dir, FEATURE_CONFIG)


@pytest.fixture()
def fake_run(tmp_path, monkeypatch):
    from lip2speech.data.features import synthetic_features

    keys = synthetic_features(tmp_path / "features", speakers=1, utterances=4, seed=0, frames=50)
    run = tmp_path / "run"
    run.mkdir()
    (run / "split.json").write_text(json.dumps({"train": keys[:2], "val": [], "test": keys[2:]}))
    (run / "model.ckpt").write_bytes(b"x")
    import lip2speech.inference

    monkeypatch.setattr(lip2speech.inference, "load_run", lambda d: _FakeRun(tmp_path / "features", 0.3))
    return run, keys


def test_evaluate_run_writes_csv_and_summary_that_agree(fake_run):
    run, keys = fake_run
    opts = E.EvalOptions(invert_iters=2, waveform_utterances=1, samples=1, asr=False)
    out = E.evaluate_run(run, "test", opts, show_progress=False)
    rows = E.read_per_utterance(out / "per_utterance.csv")
    assert sorted(r["key"] for r in rows) == sorted(keys[2:])
    summary = E.load_summary(out)
    assert summary["n"] == 2
    assert summary["metrics"]["corr2"]["mean"] == pytest.approx(np.mean([r["corr2"] for r in rows]), abs=1e-5)
    assert summary["metrics"]["stoi"]["n"] == 1  # waveform metrics on the first utterance only
    # the autoencoder ceiling is the predictor's own autoencode(): 10x less noise than the prediction
    assert summary["metrics"]["corr2_ae"]["mean"] > summary["metrics"]["corr2"]["mean"]
    assert summary["reference"] == ["inverted target"]
    sample = np.load(next((out / "samples").glob("*.npz")))
    assert sample["pred"].shape == sample["target"].shape and sample["wav_pred"].size > 0
    assert (out / "samples" / f"{keys[2].replace('/', '_')}.mp4").is_file()  # face crops + speech
    # an up-to-date evaluation with the same options is reused, not recomputed
    stamp = (out / "summary.json").stat().st_mtime_ns
    E.evaluate_run(run, "test", opts, show_progress=False)
    assert (out / "summary.json").stat().st_mtime_ns == stamp
    # another inversion is another evaluation: recomputed, and the options say which
    E.evaluate_run(run, "test", E.EvalOptions(**{**opts.__dict__, "invert_method": "cg"}), show_progress=False)
    assert E.load_summary(out)["options"]["invert_method"] == "cg"
    # a summary from before the option existed was made with lbfgs: still up to date for lbfgs
    import lip2speech.evaluation.eval_folder as EF

    old = json.loads((out / "summary.json").read_text())
    old["options"] = {k: v for k, v in old["options"].items() if k != "invert_method"}
    (out / "summary.json").write_text(json.dumps(old))
    assert EF.up_to_date(out, run, opts, None)
    assert not EF.up_to_date(out, run, E.EvalOptions(**{**opts.__dict__, "invert_method": "cg"}), None)
    assert not EF.up_to_date(out, run, E.EvalOptions(**{**opts.__dict__, "invert_start": "harmonic"}), None)


def test_unknown_split_is_a_clear_error(fake_run):
    from lip2speech.errors import Lip2SpeechError

    run, _ = fake_run
    with pytest.raises(Lip2SpeechError, match="unknown split 'dev'"):
        E.evaluate_run(run, "dev", E.EvalOptions(waveform=False), show_progress=False)


def test_words_runs_score_each_predicted_word_segment(fake_run, monkeypatch):
    import lip2speech.inference
    from lip2speech.inference.windowed import WordPrediction

    run, keys = fake_run
    rng = np.random.default_rng(0)
    segments = {k: [WordPrediction(w, rng.random((40, 128)), rng.random((40, 128)), 0.2 + i, 0.6 + i)
                    for i, w in enumerate(("bin", "blue"))] for k in keys}

    class _WordsRun(_FakeRun):
        task = "words"

        def predict_words(self, item):
            return segments[item["key"]]

    monkeypatch.setattr(lip2speech.inference, "load_run", lambda d: _WordsRun(run.parent / "features", 0.3))
    out = E.evaluate_run(run, "test", E.EvalOptions(waveform=False, samples=0), show_progress=False)
    rows = list(__import__("csv").DictReader(open(out / "per_word.csv")))
    want = [corr2(w.target, w.pred) for k in sorted(keys[2:]) for w in segments[k]]
    assert [r["word"] for r in rows] == ["bin", "blue"] * 2 and rows[1]["start_s"] == "1.200"
    assert [float(r["corr2"]) for r in rows] == pytest.approx(want, abs=1e-5)
    summary = E.load_summary(out)
    assert summary["task"] == "words" and summary["word_corr2"]["mean"] == pytest.approx(np.mean(want), abs=1e-5)


def test_evaluate_on_another_features_folder_skips_corrupt_items(fake_run, tmp_path):
    from typer.testing import CliRunner

    from lip2speech.cli import app
    from lip2speech.errors import Lip2SpeechError
    from lip2speech.data.features import synthetic_features
    from lip2speech.data.store import FeatureStore
    from lip2speech.data.store import item_path

    run, _ = fake_run
    other = tmp_path / "my-recordings"
    okeys = synthetic_features(other, speakers=2, utterances=3, seed=5, frames=50)
    item_path(other, okeys[1]).write_bytes(b"not an npz")  # a corrupt item: reported and skipped
    opts = E.EvalOptions(waveform=False, samples=0)
    out = E.evaluate_run(run, options=opts, features=other, show_progress=False)
    assert out == run / "eval-my-recordings"
    summary = E.load_summary(out)
    assert summary["n"] == 5 and summary["features"] == str(other.resolve())
    assert len(summary["failures"]) == 1 and summary["failures"][0].startswith(f"{okeys[1]}: ")
    assert "unreadable features item" in summary["failures"][0]
    rows = E.read_per_utterance(out / "per_utterance.csv")
    assert [r["key"] for r in rows] == [k for k in okeys if k != okeys[1]]
    out2 = E.evaluate_run(run, options=opts, features=other, speakers=["s2"], show_progress=False)
    assert out2 == out and E.load_summary(out)["n"] == 3  # another scope: recomputed
    res = CliRunner().invoke(app, ["evaluate", str(run), "--features", str(other), "--no-waveform", "-s", "s1"])
    assert res.exit_code == 1, res.output  # done, but an item was skipped
    assert f"skipped: {okeys[1]}" in res.output and "eval-my-recordings" in res.output
    res = CliRunner().invoke(app, ["evaluate", str(run), "--features", str(other), "--split", "test"])
    assert res.exit_code != 0 and "1 of the 2 utterances of split 'test' are not prepared here" in str(res.exception)
    # --split with --features: the run's own split, read from that folder (a shipped model's test split)
    import shutil

    mine = tmp_path / "mine"
    shutil.copytree(tmp_path / "features", mine)
    res = CliRunner().invoke(app, ["evaluate", str(run), "--features", str(mine), "--split", "test", "--no-waveform"])
    assert res.exit_code == 0, res.output
    own = run / "eval-test"
    assert [r["key"] for r in E.read_per_utterance(own / "per_utterance.csv")] == sorted(fake_run[1][2:])
    assert E.load_summary(own)["scope"]["split"] == "test" and E.load_summary(own)["features"] == str(mine.resolve())
    # --speak-inversion: scored as speak inverts (recorded in the options); with an --invert-* option, an error
    res = CliRunner().invoke(app, ["evaluate", str(run), "--features", str(other), "--no-waveform", "--speak-inversion"])
    assert res.exit_code == 1, res.output  # other still holds the corrupt item: skipped
    from lip2speech.inference.speak_inversion import SPEAK_ITERS, SPEAK_START

    options = E.load_summary(out)["options"]
    assert (options["invert_method"], options["invert_iters"], options["invert_start"]) == ("cg", SPEAK_ITERS,
                                                                                          SPEAK_START)
    res = CliRunner().invoke(app, ["evaluate", str(run), "--speak-inversion", "--invert-iters", "3"])
    assert res.exit_code != 0 and "not both" in str(res.exception)
    with pytest.raises(Lip2SpeechError, match="speakers not in the features folder: s9"):
        E.evaluate_run(run, options=opts, features=other, speakers=["s9"], show_progress=False)
    empty = tmp_path / "empty"
    FeatureStore.create(empty).write_manifest([])
    with pytest.raises(Lip2SpeechError, match="no utterances to evaluate"):
        E.evaluate_run(run, options=opts, features=empty, show_progress=False)
    wide = tmp_path / "wide"
    FeatureStore.create(wide, fs=16000).write_manifest([])
    with pytest.raises(Lip2SpeechError, match="another configuration") as err:
        E.evaluate_run(run, options=opts, features=wide, show_progress=False)
    assert "\n" not in str(err.value)
    test_split = tmp_path / "test"
    synthetic_features(test_split, speakers=1, utterances=1, seed=6, frames=50)
    assert E.evaluate_run(run, options=opts, features=test_split, show_progress=False).name == "eval-features-test"


def test_sources_of_a_features_folder_prepared_from_two_corpora(shared_data):
    """evaluate --corpus A --corpus B: every clip's original recording, from whichever corpus holds it; a clip in
    both is refused (its two sources would disagree)."""
    from lip2speech.evaluation.evaluate import corpus_sources

    one, more = shared_data / "grid-s1", shared_data / "grid-s1-more"
    if not more.is_dir():
        pytest.skip(f"reference data not found at {more} (expected ../shared/data beside the project)")
    both = corpus_sources([one, more])
    assert len(both) == len(corpus_sources(one)) + len(corpus_sources(more))
    assert {Path(v["video_source"]).parent.parent for v in both.values()} == {one, more}
    with pytest.raises(Lip2SpeechError, match="in two of the corpora"):
        corpus_sources([one, one])
