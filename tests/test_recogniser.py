"""The spectrogram word recogniser of the recognisability objective: trains and resumes, stays frozen as a loss,
and gu2s trains with it."""

import numpy as np
import pytest
import torch

from lip2speech.errors import Lip2SpeechError
from lip2speech.training.recogniser import (ctc_of, load_recogniser, recogniser_split, train_recogniser,
                                           word_accuracy_of)
from lip2speech.data.store import FeatureStore
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config
from lip2speech.data.utterance import word_tokens

SENTENCES = [("bin", "blue", "at", "f", "two", "now"), ("lay", "red", "by", "g", "five", "soon"),
             ("place", "green", "in", "h", "nine", "again"), ("set", "white", "with", "j", "zero", "please")]
TINY = {"system": "gu2s", "max_epochs": 1, "batch_size": 2, "augment": False, "test_fraction": 0.25,
        "model": {"conv": 8, "gru": 8, "postnet_layers": 0}}


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """12 utterances whose spectrogram spells their words: one channel band per word, in word order."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("rec")
    store = FeatureStore.create(root / "f", fs=16000)
    entries = []
    for u in range(12):
        words = SENTENCES[u % len(SENTENCES)]
        aud = 0.05 * rng.random((150, 128))
        for j, tok in enumerate(word_tokens(words)):
            aud[25 * j:25 * j + 20, (2 * tok) % 120:(2 * tok) % 120 + 8] += 1.0
        n = 30
        lips = {"gf": rng.standard_normal((n, 7)).astype(np.float32), "gp": rng.random((n, 8, 16)).astype(np.float32),
                "valid": np.ones(n, bool), "fps": 25.0, "faces": np.zeros((n, 8, 8), np.uint8),
                "landmarks": np.zeros((n, 68, 2)), "mouth_boxes": np.zeros((n, 4))}
        entries.append(store.write_item(f"s1/u{u:02d}", aud.astype(np.float32), lips, "s1", words))
    store.write_manifest(entries)
    return root / "f", [e["key"] for e in entries]


def test_the_recogniser_never_reads_the_held_out_clips(features):
    root, keys = features
    split = recogniser_split(root, keys[:3], seed=0)
    assert sorted(split["test"]) == keys[:3]
    assert not set(keys[:3]) & set(split["train"] + split["val"])
    assert sorted(split["train"] + split["val"]) == keys[3:] and len(split["val"]) == 1
    assert recogniser_split(root, keys[:3], seed=0) == split


def test_the_recogniser_trains_resumes_and_reads_words(features, tmp_path):
    folder, keys = features
    out = tmp_path / "recogniser.pt"

    def stop_after_first_epoch(line: str) -> None:
        if "epoch 1/" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_recogniser(folder, keys[:10], keys[10:], out, epochs=30, batch_size=4, log=stop_after_first_epoch)
    assert not out.exists() and out.with_name("recogniser.pt.partial").is_file()
    lines: list[str] = []
    train_recogniser(folder, keys[:10], keys[10:], out, epochs=30, batch_size=4, log=lines.append)
    assert lines[0] == "recogniser: resuming at epoch 1 of 30" and "ETA" in lines[1]
    assert out.is_file() and not out.with_name("recogniser.pt.partial").exists()
    model = load_recogniser(out)
    assert word_accuracy_of(model, folder, keys[10:]) > 0.5  # far above chance (1 in 10 words per slot)


def test_a_frozen_recogniser_passes_gradients_to_the_spectrogram_only(features, tmp_path):
    folder, keys = features
    out = train_recogniser(folder, keys, [], tmp_path / "r.pt", epochs=1, log=lambda s: None)
    model = load_recogniser(out)
    spec = torch.rand(2, 150, 128, requires_grad=True)
    tokens = torch.from_numpy(np.stack([word_tokens(s) for s in SENTENCES[:2]]))
    loss = ctc_of(model, spec, torch.tensor([150, 120]), tokens, torch.tensor([6, 6]))
    loss.backward()
    assert torch.isfinite(loss) and spec.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())
    with pytest.raises(Lip2SpeechError, match="recogniser"):
        load_recogniser(tmp_path / "missing.pt")


def test_gu2s_trains_with_the_recognisability_objective(features, tmp_path):
    folder, keys = features
    rec = train_recogniser(folder, keys, [], tmp_path / "r.pt", epochs=1, log=lambda s: None)
    with pytest.raises(Lip2SpeechError, match="recogniser"):
        load_train_config(None, {**TINY, "recognisability": 1.0})
    cfg = load_train_config(None, {**TINY, "recognisability": 1.0, "recogniser": str(rec)})
    run = train_system(cfg, folder, tmp_path / "run", show_progress=False)
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "train_recognisability" in header and (run / "model.ckpt").is_file()
