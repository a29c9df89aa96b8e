"""The adversarial and feature-matching objectives of gu2s (the field's sharpness lever): a patch critic
(models.critic) learns to tell true spectrogram patches from predicted ones (least squares), and the model is
asked to fool it and to match its layer activations on the true spectrogram."""

from __future__ import annotations

import torch
from torch.func import functional_call


def critic_terms(critic: torch.nn.Module, pred: torch.Tensor, target: torch.Tensor,
                 mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Losses of one batch of compressed spectrograms (B, N, bins) over their valid frames (mask (B, N)):
    "critic" (least squares: true patches -> 1, predicted -> 0; trains the critic only), "adversarial" ((score of
    the prediction - 1)^2) and "feature_matching" (L1 between the critic's activations on the prediction and on
    the truth, per layer, averaged); the last two train the model only (the critic's weights are frozen there)."""
    m = mask[..., None]
    real, fake = target * m, pred * m
    # the critic's update: the prediction detached, so this term never moves the model
    acts_real = critic(real)
    critic_loss = ((acts_real[-1] - 1) ** 2).mean() + (critic(fake.detach())[-1] ** 2).mean()
    # the model's update: the critic's weights detached, so these terms never move the critic
    frozen = {k: v.detach() for k, v in critic.named_parameters()}
    acts_fake = functional_call(critic, frozen, (fake,))
    adversarial = ((acts_fake[-1] - 1) ** 2).mean()
    fm = torch.stack([(f - r.detach()).abs().mean() for f, r in zip(acts_fake[:-1], acts_real[:-1])]).mean()
    return {"critic": critic_loss, "adversarial": adversarial, "feature_matching": fm}
