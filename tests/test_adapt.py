"""`lip2speech adapt`: fine-tune a trained whole-utterance model on a new speaker's clips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lip2speech.training.adapt import adapt, clip_utterances
from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import synthetic_features
from lip2speech.inference import load_run
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config

TINY = {"system": "gu2s", "max_epochs": 1, "threads": 1, "batch_size": 4, "val_fraction": 0.0, "split_seed": 0,
        "model": {"cnn": [4, 8], "embed": 16, "conv": 16, "gru": 16, "postnet": 8}}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny 2-member ensemble (float16, as shipped) trained on speaker s1 of generated features with s2 beside."""
    from lip2speech.training.shipped import export_model

    root = tmp_path_factory.mktemp("adapt")
    synthetic_features(root / "feats", speakers=2, utterances=8, seed=3, face=16)
    members = [train_system(load_train_config(None, {**TINY, "speakers": ["s1"], "seed": s}), root / "feats",
                            root / f"m{s}", show_progress=False) for s in (1, 2)]
    export_model(members, root / "base", "# tiny\n")
    return root


def test_more_training_on_the_base_speakers_names_no_speaker(base, tmp_path):
    """init_from on the speakers the base already knows (a second training cycle) keeps the base's behaviour on
    unnamed footage: no model speaker, so speak normalises such footage by itself; exported, the model names the
    folder it started from without the machine's path."""
    cfg = load_train_config(None, {**TINY, "speakers": ["s1"], "seed": 1, "init_from": str(base / "m1")})
    run = train_system(cfg, base / "feats", tmp_path / "again", show_progress=False)
    meta = load_run(run).meta
    assert meta["init_from"] == str(base / "m1") and "speaker" not in meta
    from lip2speech.training.shipped import export_model, shown_path  # shipped, it names no folder of this machine

    shipped = load_run(export_model([run], tmp_path / "shipped", "# card\n").parent).meta
    assert shipped["init_from"] == shipped["config"]["init_from"] == "m1"
    assert shown_path(tmp_path, "RUN") == "RUN"
    assert shown_path("../shared/data/grid-s1", "CORPUS") == "../shared/data/grid-s1"


def test_adapt_makes_a_run_folder_that_loads_evaluates_and_resumes(base, tmp_path):
    from lip2speech.evaluation.evaluate import EvalOptions, evaluate_run, load_summary

    keys = [f"s2/u{u:03d}" for u in range(6)]
    over = {"max_epochs": 2}
    lines: list[str] = []
    rep = adapt(base / "base", tmp_path / "run", features=base / "feats", keys=keys, overrides=over,
                show_progress=False, log=lines.append)
    run = tmp_path / "run"
    split = json.loads((run / "split.json").read_text())
    assert (rep.train, rep.val, rep.epochs) == (5, 1, 2) and not split["test"]  # 20% hold-out, at least 1
    assert sorted(split["train"] + split["val"]) == keys
    rec = load_run(run)
    meta = rec.meta
    assert meta["members"] == 2 and meta["speaker"] == "s2" and meta["init_from"] == str((base / "base").resolve())
    assert set(rec.stats["gp"].per_speaker) == {"s1", "s2"}  # the base speaker kept, the new one added
    base_rec = load_run(base / "base")
    assert rec.stats["gp"].per_speaker["s1"] == base_rec.stats["gp"].per_speaker["s1"]
    moved = [not torch.allclose(a.float(), b.float()) for a, b in zip(rec.net.state_dict().values(),
                                                                       base_rec.net.state_dict().values())]
    assert any(moved)  # fine-tuned from the base weights, not the base as is
    cost = json.loads((run / "adapt.json").read_text())
    assert cost["clips"] == keys and cost["seconds"] > 0 and "fine-tuning" in lines[-1]
    stamp = (run / "model.ckpt").stat().st_mtime_ns
    again = adapt(base / "base", run, features=base / "feats", keys=keys, overrides=over, show_progress=False,
                  log=lines.append)
    assert again.epochs == 2 and (run / "model.ckpt").stat().st_mtime_ns == stamp  # finished: reused
    assert again.reused and again.seconds == pytest.approx(cost["seconds"])  # with the cost of the first call
    ev = evaluate_run(run, "val", EvalOptions(waveform=False, samples=0), show_progress=False)
    assert load_summary(ev)["n"] == 1
    item_lips = __import__("lip2speech.data.store", fromlist=["load_item"]).load_item(base / "feats", keys[0])["lips"]
    spec_named, _ = rec.predict_utterance(item_lips, "s2", 40)
    spec_default, _ = rec.predict_utterance(item_lips, None, 40)  # speak names no speaker: the adapted one
    assert np.allclose(spec_named, spec_default)


def test_fewer_than_three_usable_clips_is_one_line_and_leaves_nothing(base, tmp_path):
    with pytest.raises(Lip2SpeechError, match="2 usable clip"):
        adapt(base / "base", tmp_path / "run", features=base / "feats", keys=["s2/u000", "s2/u001"],
              show_progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(Lip2SpeechError, match="run folder not found"):  # checked before anything is written
        adapt(tmp_path / "nope", tmp_path / "x", features=base / "feats", keys=["s2/u000"])
    assert not (tmp_path / "x").exists()


def test_grid_names_keep_their_words_other_clips_none(tmp_path):
    utts = clip_utterances([tmp_path / "bbaf2n.mp4", tmp_path / "holiday.mp4", tmp_path / "b" / "bbaf2n.mp4"], "me")
    assert utts[0].words == ("bin", "blue", "at", "f", "two", "now") and utts[1].words == ()
    assert [u.key for u in utts] == ["me/bbaf2n", "me/holiday", "me/bbaf2n-2"]


def _bad_clips(grid_dir, folder):
    """A clip without sound, a face-less clip with sound, a 0.6 s clip: all refused by the preparation."""
    from lip2speech.video import read_video, write_video

    folder.mkdir()
    frames = read_video(grid_dir / "bbaf2n.mpg").frames
    write_video(folder / "nosound.mp4", frames, 25.0)
    rng = np.random.default_rng(0)
    tone = np.sin(np.arange(48000) / 16000 * 2 * np.pi * 200) * (1 + 0.1 * rng.standard_normal(48000))
    write_video(folder / "noface.mp4", rng.integers(0, 255, (75, 96, 128), dtype=np.uint8), 25.0, tone, 16000)
    write_video(folder / "short.mp4", frames[:15], 25.0, tone[:9600], 16000)
    return folder


@pytest.mark.slow
def test_cli_lists_bad_clips_and_refuses_too_few(grid_dir, tmp_path):
    """Only two good clips and three bad ones: every bad one listed, one-line error, exit 2, nothing written."""
    import shutil

    from lip2speech.cli import app

    bad = _bad_clips(grid_dir, tmp_path / "clips")
    for name in ("bbaf2n", "lbax4n"):
        shutil.copy(grid_dir / f"{name}.mpg", bad / f"{name}.mpg")
    res = CliRunner().invoke(app, ["adapt", str(bad), "--out", str(tmp_path / "run")])
    assert isinstance(res.exception, Lip2SpeechError) and "2 usable clip" in str(res.exception)
    assert "\n" not in str(res.exception) and "3 skipped" in str(res.exception)
    assert not (tmp_path / "run").exists()
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "lip2speech", "adapt", str(bad), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True)
    last = proc.stderr.strip().splitlines()[-1]  # after the preparation's progress bar
    assert proc.returncode == 2 and last.startswith("error:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_adapts_grid_s1_skipping_bad_clips(grid_dir, tmp_path):
    """grid-s1 adapted for one epoch on the real GRID clips with bad ones beside: those listed, exit 1, and the run
    folder speaks."""
    from lip2speech.cli import app

    clips = _bad_clips(grid_dir, tmp_path / "clips")
    res = CliRunner().invoke(app, ["adapt", str(grid_dir), str(clips), "--out", str(tmp_path / "run"),
                                   "--epochs", "1", "--speaker", "me"])
    assert res.exit_code == 1, res.output
    for name in ("nosound", "noface", "short"):
        assert f"{name}.mp4" in res.output
    assert "adapted on 6 clip(s) (5 train, 1 validation), 1 epoch(s)" in res.output
    rec = load_run(tmp_path / "run")
    assert rec.meta["speaker"] == "me" and rec.meta["members"] == 2 and rec.reads_words and rec.fs == 16000
    assert rec.mouth_width == pytest.approx(73.0)  # prepared, and so speaking, at grid-s1's mouth scale
    out = CliRunner().invoke(app, ["speak", str(tmp_path / "run"), str(grid_dir / "bbaf2n.mpg"),
                                   "--out", str(tmp_path / "x.wav")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "x.wav").is_file()


def test_an_interrupted_adaptation_resumes(base, tmp_path, monkeypatch):
    import lightning.pytorch as pl

    import lip2speech.training.train as T

    class Stop(pl.Callback):
        def on_train_epoch_end(self, trainer, module):
            if trainer.current_epoch == 1:
                raise KeyboardInterrupt

    real = T.train_system
    keys = [f"s2/u{u:03d}" for u in range(4)]
    monkeypatch.setattr(T, "train_system", lambda *a, **k: real(*a, **{**k, "callbacks": [Stop()]}))
    with pytest.raises(Lip2SpeechError, match="interrupted"):
        adapt(base / "base", tmp_path / "run", features=base / "feats", keys=keys, overrides={"max_epochs": 3},
              show_progress=False)
    assert (tmp_path / "run" / "last.ckpt").is_file() and not (tmp_path / "run" / "summary.json").exists()
    monkeypatch.setattr(T, "train_system", real)
    rep = adapt(base / "base", tmp_path / "run", features=base / "feats", keys=keys, overrides={"max_epochs": 3},
                show_progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert rep.epochs == 3 and summary["start_epoch"] >= 1  # went on from last.ckpt
