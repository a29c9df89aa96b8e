"""Training: runs end to end on generated features, logs, checkpoints, resumes, refuses mismatches."""

import json

import pytest
import torch
import yaml

from lip2speech.config import to_dict
from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import synthetic_features
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config
from lip2speech.training.losses import corr2_torch, corr_mse_loss

TINY = {"max_epochs": 2, "threads": 1, "batch_size": 16, "model": {"lstm": 8, "dense": 16},
        "autoencoder": {"max_epochs": 2, "model": {"encoder_sizes": [16], "decoder_sizes": [16]}}}


@pytest.fixture(scope="module")
def feats(tmp_path_factory):
    out = tmp_path_factory.mktemp("feats")
    synthetic_features(out, speakers=2, utterances=6, seed=0, gp_shape=(8, 16), face=32)
    return out


def test_loss_is_negative_corr_plus_mse():
    a = torch.rand(4, 26, 32)
    assert torch.allclose(corr2_torch(a, a), torch.ones(4), atol=1e-5)
    assert torch.allclose(corr2_torch(a, -a), -torch.ones(4), atol=1e-5)
    assert float(corr_mse_loss(a, a)) == pytest.approx(-1.0, abs=1e-5)
    b = a + 0.5
    assert float(corr_mse_loss(a, b)) == pytest.approx(-1.0 + 0.25, abs=1e-4)


def test_config_files_and_overrides(tmp_path):
    cfg = load_train_config()
    assert (cfg.lr, cfg.batch_size, cfg.lr_factor, cfg.lr_patience) == (1e-4, 32, 0.2, 4)
    fast = load_train_config("fast-gp2s")
    assert fast.system == "gp2s" and fast.model["filters"] == 4 and fast.model["lstm"] == 32
    # a packaged name picks its per-system variant for the system being trained
    assert load_train_config("fast", {"system": "gp2s"}).model == fast.model
    assert load_train_config("fast", {"system": "gf2s"}).model["lstm"] == 128
    assert load_train_config("fast").model["lstm"] == 32
    p = tmp_path / "c.yaml"
    p.write_text("base: " + str((__import__("lip2speech.training.train_config", fromlist=["x"]).CONFIG_DIR / "fast.yaml")) + "\nseed: 3\n")
    assert load_train_config(p).seed == 3
    with pytest.raises(Lip2SpeechError, match="unknown TrainConfig keys"):
        load_train_config(None, {"bogus": 1})
    with pytest.raises(Lip2SpeechError, match="unknown system"):
        load_train_config(None, {"system": "nope"})


class _Interrupt(__import__("lightning.pytorch", fromlist=["Callback"]).Callback):
    def __init__(self, at):
        self.at, self.starts = at, []

    def on_train_epoch_start(self, trainer, module):
        self.starts.append(trainer.current_epoch)

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.at is not None and trainer.current_epoch == self.at and batch_idx == 1:
            raise KeyboardInterrupt  # Ctrl-C in the middle of an epoch


@pytest.mark.slow
def test_train_interrupt_resume_and_run_folder(feats, tmp_path):
    cfg = load_train_config("fast", {**TINY, "max_epochs": 3})
    out = tmp_path / "runs" / "gf2s"
    with pytest.raises(Lip2SpeechError, match="interrupted"):
        train_system(cfg, feats, out, show_progress=False, callbacks=[_Interrupt(1)])
    assert (out / "last.ckpt").is_file() and not (out / "summary.json").exists()
    assert torch.load(out / "last.ckpt", weights_only=False)["epoch"] == 0
    again = _Interrupt(None)
    train_system(cfg, feats, out, show_progress=False, callbacks=[again])
    assert again.starts == [1, 2]  # resumed after the finished epoch 0
    files = {p.name for p in out.iterdir()}
    assert {"config.yaml", "split.json", "model.ckpt", "last.ckpt", "metrics.csv", "tb", "summary.json"} <= files
    split = json.loads((out / "split.json").read_text())
    assert set(split) == {"train", "val", "test"} and len(split["test"]) == 2 * round(0.2 * 6)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["system"] == "gf2s" and saved["model"]["lstm"] == 8
    ae_run = saved["autoencoder"]["run"]
    assert (tmp_path / "runs").joinpath(ae_run.split("/")[-1], "model.ckpt").is_file()
    epochs = [l.split(",")[0] for l in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert sorted(set(int(e) for e in epochs)) == [0, 1, 2]
    meta = torch.load(out / "model.ckpt", weights_only=False)["lip2speech"]
    assert meta["system"] == "gf2s" and meta["model_kwargs"]["lstm"] == 8 and "s1" in meta["stats"]["per_speaker"]
    # a finished run is reused, a different config in the same folder is refused
    assert train_system(cfg, feats, out, show_progress=False) == out
    with pytest.raises(Lip2SpeechError, match="another configuration"):
        train_system(load_train_config("fast", {**TINY, "max_epochs": 3, "lr": 0.5}), feats, out, show_progress=False)
    # a second system reuses the same autoencoder run
    out2 = tmp_path / "runs" / "gf2s-shuffled"
    train_system(load_train_config("fast", {**TINY, "shuffle_lips": True}), feats, out2, show_progress=False)
    assert yaml.safe_load((out2 / "config.yaml").read_text())["autoencoder"]["run"] == ae_run


@pytest.mark.slow
@pytest.mark.parametrize("system", ["gp2s", "lip2audspec"])
def test_image_systems_train(feats, tmp_path, system):
    over = {**TINY, "system": system, "max_epochs": 1,
            "model": {"lstm": 8, "dense": 16, "filters": 2 if system == "gp2s" else [2] * 7}}
    out = train_system(load_train_config("fast", over), feats, tmp_path / system, show_progress=False)
    meta = torch.load(out / "model.ckpt", weights_only=False)["lip2speech"]
    assert meta["kind"] == {"gp2s": "gp", "lip2audspec": "faces"}[system]
    assert meta["model_kwargs"]["height"] == (8 if system == "gp2s" else 32)


def test_corrupt_last_checkpoint_and_foreign_features(feats, tmp_path):
    cfg = load_train_config("fast", TINY)
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.ckpt").write_bytes(b"garbage")
    ae = tmp_path / "ae"
    with pytest.raises(Lip2SpeechError, match="corrupt checkpoint"):
        train_system(load_train_config("fast", {**TINY, "system": "autoencoder"}), feats, out, show_progress=False)
    bad = tmp_path / "badfeats"
    bad.mkdir()
    (bad / "features.json").write_text(json.dumps({"version": 0, "fs": 16000, "spec_frame_s": 0.008, "bins": 128}))
    with pytest.raises(Lip2SpeechError, match="another configuration"):
        train_system(cfg, bad, ae, show_progress=False)
    with pytest.raises(Lip2SpeechError, match="not a features folder"):
        train_system(cfg, tmp_path / "nothing", ae, show_progress=False)
    with pytest.raises(Lip2SpeechError, match="speakers not in"):
        train_system(load_train_config("fast", {**TINY, "speakers": ["s9"]}), feats, ae, show_progress=False)


@pytest.mark.slow
def test_models_read_the_lips(tmp_path):
    """Small version of benchmarks/train.py: GF2S beats the mean spectrogram and shuffled lips on held-out data."""
    import numpy as np

    from lip2speech.data.windows import interp_matrix
    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run
    from lip2speech.evaluation.metrics import corr2
    from lip2speech.training.train import mean_spectrogram

    feats = tmp_path / "f"
    synthetic_features(feats, speakers=2, utterances=15, seed=0, gp_shape=(8, 16), face=32)
    over = {"threads": 1, "autoencoder": {"max_epochs": 20}}
    scores = {}
    for name, extra in (("real", {}), ("shuffled", {"shuffle_lips": True})):
        rec = load_run(train_system(load_train_config("fast", {**over, **extra}), feats, tmp_path / name,
                                    show_progress=False))
        scores[name] = np.mean([corr2(rec.predict_spectrogram(load_item(feats, k)), load_item(feats, k)["aud"])
                                for k in rec.test_keys])
    mean = mean_spectrogram(feats, rec.split["train"])
    auds = [load_item(feats, k)["aud"] for k in rec.test_keys]
    scores["mean"] = np.mean([corr2(interp_matrix(np.linspace(0, 1, len(mean)), np.linspace(0, 1, len(a))) @ mean, a)
                              for a in auds])
    assert scores["real"] >= scores["shuffled"] + 0.1, scores
    assert scores["real"] >= scores["mean"] + 0.1, scores


def test_cli_train_and_clear_errors(feats, tmp_path):
    import subprocess
    import sys

    from typer.testing import CliRunner

    from lip2speech.cli import app
    from lip2speech.training.train_config import CONFIG_DIR

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({"base": str(CONFIG_DIR / "fast.yaml"), **TINY, "max_epochs": 1}))
    res = CliRunner().invoke(app, ["train", "--system", "gf2s", "--features", str(feats), "--out",
                                   str(tmp_path / "run"), "--speakers", "s1", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "trained gf2s" in res.output and (tmp_path / "run" / "model.ckpt").is_file()
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["speakers"] == ["s1"]
    res = CliRunner().invoke(app, ["train", "--system", "gf2s", "--features", str(feats), "--out",
                                   str(tmp_path / "r3"), "--task", "phonemes"])
    assert res.exit_code != 0 and "unknown task 'phonemes'" in str(res.exception)
    bad = subprocess.run([sys.executable, "-m", "lip2speech", "train", "--system", "gf2s", "--features",
                          str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")], capture_output=True, text=True)
    assert bad.returncode == 2 and "error:" in bad.stderr and "not a features folder" in bad.stderr
    assert "Traceback" not in bad.stderr


GRID_WORDS = ("bin", "blue", "at", "f", "two", "now")


def add_alignments(feats, keys, seconds: float = 3.0):
    """Give generated items GRID-like word alignments: sil, six 0.4 s words from 0.2 s, sil."""
    import numpy as np

    from lip2speech.data.store import item_path
    from lip2speech.fileio import save_npz

    edges = [0.0] + [0.2 + 0.4 * j for j in range(7)] + [seconds]
    for k in keys:
        with np.load(item_path(feats, k)) as z:
            arrays = dict(z)
        arrays.update(words=np.array(GRID_WORDS), word_names=np.array(["sil", *GRID_WORDS, "sil"]),
                      word_spans=np.array(list(zip(edges[:-1], edges[1:]))))
        save_npz(item_path(feats, k), **arrays)


@pytest.mark.slow
def test_words_task_trains_reloads_and_predicts_per_word(tmp_path):
    import numpy as np

    from lip2speech.data.store import load_item, load_manifest
    from lip2speech.inference import load_run

    feats = tmp_path / "f"
    keys = synthetic_features(feats, speakers=1, utterances=8, seed=1, gp_shape=(8, 16), face=32)
    add_alignments(feats, keys[1:])  # the first utterance has no alignment
    runs = {}
    for system, model in (("gf2s", {"lstm": 8, "dense": 16}),
                          ("lip2audspec", {"lstm": 8, "dense": 16, "filters": [2] * 7})):
        cfg = load_train_config("fast", {**TINY, "system": system, "model": model, "task": "words"})
        runs[system] = train_system(cfg, feats, tmp_path / "runs" / f"{system}-words", show_progress=False)
    out = runs["gf2s"]
    assert yaml.safe_load((out / "config.yaml").read_text())["task"] == "words"
    summary = json.loads((out / "summary.json").read_text())
    split = json.loads((out / "split.json").read_text())
    with_words = [k for k in split["train"] + split["val"] if k != keys[0]]
    per_word = {"gf2s": 2, "lip2audspec": 1}  # model windows per 2-slice word
    assert summary["skipped_no_alignment"] == int(keys[0] not in split["test"])
    assert summary["train_samples"] == 6 * per_word["gf2s"] * len([k for k in split["train"] if k != keys[0]])
    assert len(with_words) + summary["skipped_no_alignment"] == len(split["train"]) + len(split["val"])
    # a sentence run in the same folder is refused; the words run reloads as one
    with pytest.raises(Lip2SpeechError, match="another configuration"):
        train_system(load_train_config("fast", TINY), feats, out, show_progress=False)
    for system, run in runs.items():
        rec = load_run(run)
        assert rec.task == "words" and rec.meta["task"] == "words"
        item = load_item(feats, [k for k in rec.test_keys if k != keys[0]][0])
        words = rec.predict_words(item)
        assert [w.word for w in words] == list(GRID_WORDS)
        for w in words:
            a, b = int(round(w.start_s / 0.008)), int(round(w.end_s / 0.008))
            assert w.target.shape == w.pred.shape == (b - a, 128)
            assert np.array_equal(w.target, item["aud"][a:b]) and np.isfinite(w.pred).all() and w.pred.min() >= 0
        assert rec.predict_words({**item, "word_times": None}) == []
    assert len(load_manifest(feats)) == 8


def test_gf_input_and_split_protocol_are_recorded_and_rebuilt(feats, tmp_path):
    import numpy as np

    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run

    shapes = {}
    for gf_input in ("study", "frames"):
        cfg = load_train_config("fast", {**TINY, "max_epochs": 1, "gf_input": gf_input, "split_protocol": "study"})
        out = train_system(cfg, feats, tmp_path / "runs" / f"gf2s-{gf_input}", show_progress=False)
        meta = torch.load(out / "model.ckpt", weights_only=False)["lip2speech"]
        assert meta["gf_input"] == gf_input
        shapes[gf_input] = (meta["model_kwargs"]["frames"], meta["model_kwargs"]["n_features"])
        rec = load_run(out)
        item = load_item(feats, rec.test_keys[0])
        assert rec.predict_spectrogram(item).shape == item["aud"].shape
        split = json.loads((out / "split.json").read_text())
        assert [k for k in split["train"] if k.startswith("s1/")] == [f"s1/u{i:03d}" for i in range(5)]
        assert split["test"] == ["s1/u005", "s2/u005"] and split["val"] == split["test"]
    assert shapes == {"study": (26, 21), "frames": (5, 14)}
    assert load_train_config().gf_input == "study" and load_train_config().split_protocol == "ours"
    with pytest.raises(Lip2SpeechError, match="unknown gf_input"):
        load_train_config(None, {"gf_input": "pixels"})
    with pytest.raises(Lip2SpeechError, match="unknown split_protocol"):
        load_train_config(None, {"split_protocol": "random"})
    # the same folder with the other GF input is another configuration
    with pytest.raises(Lip2SpeechError, match="gf_input"):
        train_system(load_train_config("fast", {**TINY, "max_epochs": 1, "gf_input": "frames",
                                                "split_protocol": "study"}),
                     feats, tmp_path / "runs" / "gf2s-study", show_progress=False)
    assert np.isfinite(json.loads((tmp_path / "runs" / "gf2s-study" / "summary.json").read_text())["best_val_loss"])
