"""The patch critic and the adversarial / feature-matching objectives of gu2s."""

from __future__ import annotations

import numpy as np
import torch

from lip2speech.data.features import synthetic_features
from lip2speech.data.store import load_item
from lip2speech.inference import load_run
from lip2speech.models.critic import SpectrogramCritic
from lip2speech.training.adversarial import critic_terms
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config


def test_each_term_moves_only_its_own_side():
    """The critic's loss reaches the critic and not the prediction; the adversarial and feature-matching terms
    reach the prediction and not the critic; padded frames are not scored."""
    torch.manual_seed(0)
    critic = SpectrogramCritic((4, 8))
    pred = torch.rand(2, 40, 128, requires_grad=True)
    target = torch.rand(2, 40, 128)
    mask = torch.ones(2, 40)
    mask[1, 30:] = 0
    terms = critic_terms(critic, pred, target, mask)
    assert set(terms) == {"critic", "adversarial", "feature_matching"}
    assert all(torch.isfinite(v) and v >= 0 for v in terms.values())
    grads = torch.autograd.grad(terms["critic"], [pred, *critic.parameters()], allow_unused=True)
    assert grads[0] is None and all(g is not None and g.abs().sum() > 0 for g in grads[1:])
    for name in ("adversarial", "feature_matching"):
        g = torch.autograd.grad(terms[name], [pred, *critic.parameters()], allow_unused=True, retain_graph=True)
        assert g[0].abs().sum() > 0 and all(x is None for x in g[1:])
        assert g[0][1, 30:].abs().sum() == 0  # padding
    same = critic_terms(critic, target.clone().requires_grad_(), target, mask)["feature_matching"]
    assert float(same.detach()) == 0.0  # a prediction equal to the truth matches every activation


def test_gu2s_trains_with_a_critic_and_exports_without_it(tmp_path):
    synthetic_features(tmp_path / "feats", speakers=1, utterances=10, seed=5, face=16)
    cfg = load_train_config(None, {"system": "gu2s", "max_epochs": 2, "threads": 1, "batch_size": 4,
                                   "adversarial": 0.1, "feature_matching": 1.0,
                                   "model": {"cnn": [4, 8], "embed": 16, "conv": 16, "gru": 16, "postnet": 8}})
    run = train_system(cfg, tmp_path / "feats", tmp_path / "run", show_progress=False)
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "train_feature_matching" in header and "train_critic" in header and "val_critic" not in header
    state = torch.load(run / "model.ckpt", weights_only=False)["state_dict"]
    assert any(k.startswith("critic.") for k in state)  # resumable: the critic is in the run's checkpoints
    from lip2speech.training.shipped import export_model

    out = export_model([run], tmp_path / "shipped", "# test\n")
    assert not any(k.startswith("critic.") for k in torch.load(out, weights_only=False)["state_dict"])
    rec = load_run(run)
    spec = rec.predict_spectrogram(load_item(tmp_path / "feats", rec.test_keys[0]))
    assert np.isfinite(spec).all()
