"""load_run / Reconstructor / speak: predictions on the target grid, clear errors, faces lost in some frames."""

import numpy as np
import pytest
import soundfile as sf
import torch

from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import synthetic_features
from lip2speech.data.store import load_item
from lip2speech.inference import load_run
from lip2speech.inference.speak import speak
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config

TINY = {"max_epochs": 2, "threads": 1, "batch_size": 16, "model": {"lstm": 8, "dense": 16},
        "autoencoder": {"max_epochs": 3, "model": {"encoder_sizes": [16], "decoder_sizes": [16]}}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("inf")
    synthetic_features(root / "feats", speakers=2, utterances=5, seed=1, gp_shape=(8, 16), face=32)
    out = train_system(load_train_config("fast", TINY), root / "feats", root / "runs" / "gf2s", show_progress=False)
    return out, root / "feats"


def test_reconstructor_predicts_on_the_target_grid(run):
    out, feats = run
    rec = load_run(out)
    assert rec.system == "gf2s" and rec.features_dir == feats.resolve() and len(rec.test_keys) == 2
    item = load_item(feats, rec.test_keys[0])
    spec = rec.predict_spectrogram(item)
    assert spec.shape == item["aud"].shape and spec.dtype == np.float32
    assert np.isfinite(spec).all() and spec.min() >= 0 and spec.std() > 0
    ae = load_run(rec.meta["autoencoder_run"])
    assert ae.system == "autoencoder" and ae.predict_spectrogram(item).shape == item["aud"].shape
    # the ceiling comes from the weights the run holds: the same as its autoencoder run's
    np.testing.assert_allclose(rec.autoencode(item["aud"]), ae.predict_spectrogram(item), rtol=1e-5, atol=1e-6)


def test_corrupt_and_mismatched_checkpoints(run, tmp_path):
    out, _ = run
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.ckpt").write_bytes(b"\x00garbage")
    with pytest.raises(Lip2SpeechError, match="corrupt or unreadable"):
        load_run(bad)
    torch.save({"state_dict": {}}, bad / "model.ckpt")
    with pytest.raises(Lip2SpeechError, match="not a lip2speech checkpoint"):
        load_run(bad)
    ckpt = torch.load(out / "model.ckpt", weights_only=False)
    ckpt["lip2speech"]["model_kwargs"]["lstm"] = 12
    torch.save(ckpt, bad / "model.ckpt")
    with pytest.raises(Lip2SpeechError, match="do not match the gf2s model"):
        load_run(bad)
    with pytest.raises(Lip2SpeechError, match="run folder not found"):
        load_run(tmp_path / "missing")


@pytest.mark.slow
def test_speak_writes_audio_and_video_even_with_lost_faces(run, grid_dir, tmp_path):
    from lip2speech.video.io import read_video, write_video

    out, _ = run
    video = sorted(p for p in grid_dir.iterdir() if p.suffix == ".mpg")[0]
    v = read_video(video)
    frames = v.frames.copy()
    frames[20:30] = 0  # the face is lost for 10 frames
    holed = tmp_path / "holed.mp4"
    write_video(holed, frames, v.fps)
    info = speak(out, holed, tmp_path / "s.wav", tmp_path / "s.mp4")
    wave, fs = sf.read(tmp_path / "s.wav")
    assert fs == 8000 and abs(len(wave) / fs - len(frames) / v.fps) < 0.02 and np.abs(wave).max() > 0.1
    assert info["frames_without_face"] >= 8
    assert read_video(tmp_path / "s.mp4").frames.shape[0] == len(frames)
    noise = tmp_path / "noface.mp4"
    write_video(noise, np.random.default_rng(0).integers(0, 255, (30, 96, 96, 3), dtype=np.uint8), 25)
    with pytest.raises(Lip2SpeechError, match="no face"):
        speak(out, noise, tmp_path / "n.wav")
    with pytest.raises(Lip2SpeechError, match="autoencoder run"):
        speak(load_run(out).meta["autoencoder_run"], holed, tmp_path / "x.wav")


@pytest.mark.parametrize("args, match", [(["--invert-start", "chirp"], "unknown --invert-start"),
                                         (["--invert-f0", "0"], "--invert-f0")])
def test_speak_rejects_a_bad_inversion_start(tmp_path, args, match):
    from typer.testing import CliRunner

    from lip2speech.cli import app

    res = CliRunner().invoke(app, ["speak", "--model", "grid-s1", str(tmp_path / "v.mpg"), "--out", str(tmp_path / "o.wav"),
                              *args])
    assert res.exit_code != 0 and match in str(res.exception) + res.output
