"""A patch critic of spectrograms: a small 2-D CNN that scores every time-frequency patch of a compressed
spectrogram as real or predicted, and exposes its layer activations (for feature matching)."""

from __future__ import annotations

import torch
from torch import nn


class SpectrogramCritic(nn.Module):
    """(B, N, bins) compressed spectrograms -> list of activations, the last one the patch scores (B, 1, n, f).

    Four 5x5 convolutions (time x frequency; strides 1x2, 2x2, 2x2, then a 3x3 scoring layer) with leaky ReLUs and
    no normalisation, so a patch's score depends on that patch only (about 40 x 70 cells: 320 ms x 3 octaves)."""

    def __init__(self, channels: tuple[int, ...] | list[int] = (16, 32, 64)) -> None:
        super().__init__()
        strides = [(1, 2)] + [(2, 2)] * (len(channels) - 1)
        layers, c_in = [], 1
        for c, s in zip(channels, strides):
            layers.append(nn.Sequential(nn.Conv2d(c_in, c, 5, stride=s, padding=2), nn.LeakyReLU(0.2)))
            c_in = c
        layers.append(nn.Conv2d(c_in, 1, 3, padding=1))
        self.layers = nn.ModuleList(layers)

    def forward(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x, acts = spec[:, None], []
        for layer in self.layers:
            x = layer(x)
            acts.append(x)
        return acts
