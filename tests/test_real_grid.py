"""Real GRID clips of speaker s1 (../shared/data/grid-s1): prepare 20 of them, train a small GF2S on 16 and predict
the other 4, evaluate the run on clips it never saw (`evaluate --features`), print the table with the study's
train and test values. The preparation and the training are shared by the tests of this module."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import SHARED_DATA

GRID_S1 = SHARED_DATA / "grid-s1"
# `fast` (lr 1e-3, GF2S LSTM 128 / dense 512) with a short schedule: ~1 minute on 2 cores for everything here
SMALL = {"threads": 1, "max_epochs": 30, "autoencoder": {"max_epochs": 30}}


def _links(root: Path, videos: list[Path]) -> Path:
    """A corpus folder of symlinks: s1/<clip>.mpg and alignments/s1/<clip>.align."""
    for video in videos:
        align = GRID_S1 / "alignments" / "s1" / f"{video.stem}.align"
        for src, dst in ((video, root / "s1" / video.name), (align, root / "alignments" / "s1" / align.name)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    return root


@pytest.fixture(scope="module")
def real_features(tmp_path_factory) -> SimpleNamespace:
    """20 clips spread over s1's 400 (training folder) and 3 others (a folder the run never sees), prepared."""
    if not (GRID_S1 / "s1").is_dir():
        pytest.skip(f"real GRID clips not found at {GRID_S1} (expected ../shared/data/grid-s1 beside the project)")
    from lip2speech.data.features import prepare

    root = tmp_path_factory.mktemp("grid-s1")
    videos = sorted((GRID_S1 / "s1").glob("*.mpg"))
    chosen = videos[::20][:20]
    corpus = _links(root / "corpus", chosen)
    unseen = _links(root / "unseen", [v for v in videos if v not in chosen][::130][:3])
    reports = [prepare(corpus, root / "features", jobs=2, show_progress=False),
               prepare(unseen, root / "unseen-features", jobs=2, show_progress=False)]
    return SimpleNamespace(root=root, corpus=corpus, unseen=unseen, features=root / "features",
                           unseen_features=root / "unseen-features", reports=reports)


@pytest.fixture(scope="module")
def real_run(real_features) -> SimpleNamespace:
    """The single-speaker experiment with a small GF2S (study input) on the 20 clips: 80/20 split, corr2 only."""
    from lip2speech.experiments.experiment import run_experiment

    lines: list[str] = []
    results = run_experiment("single", real_features.features, real_features.root / "exp", systems=["gf2s"],
                             speakers=["s1"], train="fast", train_overrides=SMALL,
                             eval_overrides={"waveform": False, "samples": 0}, show_progress=False,
                             log=lines.append)
    return SimpleNamespace(results=results, run=real_features.root / "exp" / "runs" / "s1" / "gf2s", log=lines)


def test_real_clips_are_prepared_with_faces_spectrograms_and_word_times(real_features):
    from lip2speech.data.store import load_item, load_manifest

    assert [len(r.written) for r in real_features.reports] == [20, 3]
    assert not [f for r in real_features.reports for f in r.failures]
    manifest = load_manifest(real_features.features)
    assert len(manifest) == 20 and {e["speaker"] for e in manifest.values()} == {"s1"}
    found = []
    for key in manifest:
        item = load_item(real_features.features, key)
        lips = item["lips"]
        found.append(lips["valid"])
        # (s1/sran9s has no face found in its first 12 frames: they are interpolated and flagged)
        assert len(lips["valid"]) in (74, 75) and lips["valid"].mean() > 0.8 and lips["fps"] == pytest.approx(25)
        assert item["aud"].shape[1] == 128 and abs(len(item["aud"]) * 0.008 - 3.0) < 0.05
        assert np.isfinite(lips["gf"]).all() and (lips["gf"].std(0)[:3] > 0).all()
        assert [w for w, _, _ in item["word_times"] if w not in ("sil", "sp")] == list(item["words"])
    assert np.concatenate(found).mean() > 0.95


@pytest.mark.slow
def test_small_gf2s_trains_on_16_real_clips_and_predicts_the_other_4(real_features, real_run):
    from lip2speech.data.windows import interp_matrix
    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run
    from lip2speech.evaluation.metrics import corr2
    from lip2speech.training.train import mean_spectrogram

    rec = load_run(real_run.run)
    split = rec.split
    assert len(split["test"]) == 4 and len(split["train"]) + len(split["val"]) == 16
    assert rec.gf_input == "study" and (rec.meta["model_kwargs"]["frames"], rec.meta["model_kwargs"]["n_features"]) \
        == (26, 21)
    items = [load_item(real_features.features, k) for k in rec.test_keys]
    preds = [rec.predict_spectrogram(it) for it in items]
    assert all(p.shape == it["aud"].shape and np.isfinite(p).all() and p.std() > 0 for p, it in zip(preds, items))
    ours = float(np.mean([corr2(p, it["aud"]) for p, it in zip(preds, items)]))
    row = json.loads(real_run.results.read_text())["rows"][0]
    assert row["metrics"]["corr2"]["mean"] == pytest.approx(ours, abs=1e-4)  # the table holds these predictions
    assert row["train_metrics"]["corr2"]["mean"] > ours > 0  # it fits its 14 training clips better than new ones
    mean = mean_spectrogram(real_features.features, split["train"])
    mean_c = float(np.mean([corr2(interp_matrix(np.linspace(0, 1, len(mean)), np.linspace(0, 1, len(it["aud"])))
                                  @ mean, it["aud"]) for it in items]))
    print(f"\nsmall GF2S on 4 held-out real clips: corr2 {ours:.3f}; mean training spectrogram {mean_c:.3f}")
    if ours <= mean_c:
        pytest.xfail(f"16 real clips are too few for GF2S to beat the time-aligned mean spectrogram "
                     f"({ours:.3f} vs {mean_c:.3f}); measured: README, Results on real GRID")
    assert ours > mean_c


@pytest.mark.slow
def test_evaluate_features_scores_real_clips_the_run_never_saw(real_features, real_run, tmp_path):
    from typer.testing import CliRunner

    from lip2speech.cli import app
    from lip2speech.evaluation.evaluate import load_summary, read_per_utterance
    from lip2speech.data.features import synthetic_features

    res = CliRunner().invoke(app, ["evaluate", str(real_run.run), "--features", str(real_features.unseen_features),
                                   "--corpus", str(real_features.unseen), "--invert-iters", "4", "--jobs", "2"])
    assert res.exit_code == 0, res.output
    out = real_run.run / "eval-unseen-features"
    summary = load_summary(out)
    split = json.loads((real_run.run / "split.json").read_text())
    scored = {r["key"] for r in read_per_utterance(out / "per_utterance.csv")}
    assert summary["n"] == 3 and not summary["failures"] and len(scored) == 3
    assert not scored & {k for keys in split.values() for k in keys}  # clips the run never saw
    assert summary["reference"] == ["original"] and summary["features"] == str(real_features.unseen_features.resolve())
    for metric in ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_orig"):
        m = summary["metrics"][metric]
        assert m["n"] == 3 and np.isfinite(m["mean"]) and m["ci_low"] <= m["mean"] <= m["ci_high"], metric
    assert "corr2" in res.output and "eval-unseen-features" in res.output
    # a synthetic features folder is just another corpus (its speaker names clash: normalise each by itself)
    synthetic = tmp_path / "synthetic"
    synthetic_features(synthetic, speakers=1, utterances=2, seed=0)
    res = CliRunner().invoke(app, ["evaluate", str(real_run.run), "--features", str(synthetic), "--no-waveform",
                                   "--self-normalise"])
    assert res.exit_code == 0, res.output
    assert load_summary(real_run.run / "eval-synthetic")["n"] == 2


@pytest.mark.slow
def test_the_table_prints_the_studys_train_and_test_values_beside_ours(real_run):
    from lip2speech.experiments.experiment import print_results
    from lip2speech.experiments.report import TABLE_NOTE

    lines: list[str] = []
    print_results(real_run.results, log=lines.append)
    text = "\n".join(lines)
    header, _, s1, pooled = text.splitlines()[1:5]
    for column in ("corr2 test (ours)", "corr2 train (ours)", "corr2 test (published)", "corr2 train (published)"):
        assert column in header
    cells = s1.split()
    row = json.loads(real_run.results.read_text())["rows"][0]
    assert cells[:2] == ["gf2s", "s1"] and cells[7:10] == [f"{row['train_metrics']['corr2']['mean']:.3f}",
                                                          "0.328", "0.679"]  # the study's s1 test and train
    assert "0.352" in pooled and "0.714" in pooled  # its mean over four speakers
    assert TABLE_NOTE in text
    assert any("train corr2" in line for line in real_run.log)
