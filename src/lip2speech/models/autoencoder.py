"""Dense autoencoder of power-0.3-compressed auditory-spectrogram frames (128 bins -> 32-dim bottleneck)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def _dense_block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.LeakyReLU(0.2))


class Autoencoder(nn.Module):
    """128 -> 512 -> 128 -> 64 -> 32 (sigmoid bottleneck) -> 64 -> 128 -> 128; BN + LeakyReLU between layers."""

    def __init__(
        self,
        n_bins: int = 128,
        encoder_sizes: Sequence[int] = (512, 128, 64),
        bottleneck: int = 32,
        decoder_sizes: Sequence[int] = (64, 128),
        noise: float = 0.05,
        l1: float = 1e-5,
        l2: float = 1e-5,
    ) -> None:
        super().__init__()
        self.n_bins, self.bottleneck, self.noise, self.l1, self.l2 = n_bins, bottleneck, noise, l1, l2
        sizes = [n_bins, *encoder_sizes]
        self.encoder = nn.Sequential(
            *[_dense_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])],
            nn.Linear(sizes[-1], bottleneck),
            nn.Sigmoid(),
        )
        sizes = [bottleneck, *decoder_sizes]
        self.decoder = nn.Sequential(
            *[_dense_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])],
            nn.Linear(sizes[-1], n_bins),
        )

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """Compressed frames (..., 128) -> bottleneck codes (..., 32) in [0, 1]."""
        shape = frames.shape
        return self.encoder(frames.reshape(-1, shape[-1])).reshape(*shape[:-1], self.bottleneck)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Bottleneck codes (..., 32) -> compressed frames (..., 128)."""
        shape = codes.shape
        return self.decoder(codes.reshape(-1, shape[-1])).reshape(*shape[:-1], self.n_bins)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction and bottleneck code; Gaussian noise on the code while training."""
        code = self.encode(frames)
        noisy = code + self.noise * torch.randn_like(code) if self.training and self.noise > 0 else code
        return self.decode(noisy), code

    def penalty(self, code: torch.Tensor) -> torch.Tensor:
        """L1/L2 activity penalty on the bottleneck (mean per sample)."""
        flat = code.reshape(code.shape[0], -1)
        return self.l1 * flat.abs().sum(1).mean() + self.l2 * flat.pow(2).sum(1).mean()
