"""Lip2AudSpec baseline: face crops (frame, delta, delta^2) -> seven 3-D conv layers -> LSTM -> bottleneck codes."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class Lip2AudSpec(nn.Module):
    """Input (B, 3, frames, S, S) -> 7 x Conv3d(3x3x3) with BN/LeakyReLU (ELU last) and pools -> LSTM -> dense."""

    input_kind = "faces"

    def __init__(self, in_channels: int = 3, frames: int = 10, height: int = 64, width: int = 64,
                 filters: Sequence[int] = (32, 32, 32, 64, 64, 128, 128),
                 pool_after: Sequence[int] = (1, 2, 3, 5, 7), dropout_after: Sequence[int] = (3, 5, 7),
                 dropout: float = 0.25, lstm: int = 512, dense: int = 2048, out_frames: int = 52,
                 bottleneck: int = 32) -> None:
        super().__init__()
        self.out_frames, self.bottleneck = out_frames, bottleneck
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        for i, f in enumerate(filters, start=1):
            layers += [nn.Conv3d(c, f, 3, padding=1), nn.BatchNorm3d(f),
                       nn.ELU() if i == len(filters) else nn.LeakyReLU(0.2)]
            if i in pool_after:
                layers.append(nn.MaxPool3d((1, 2, 2)))
                h, w = h // 2, w // 2
            if i in dropout_after:
                layers.append(nn.Dropout(dropout))
            c = f
        if h < 1 or w < 1:
            raise ValueError(f"face crops of {height}x{width} are too small for {len(pool_after)} poolings")
        self.features = nn.Sequential(*layers)
        self.lstm = nn.LSTM(c * h * w, lstm, batch_first=True)
        self.dense = nn.Sequential(
            nn.Linear(frames * lstm, dense), nn.ELU(), nn.Linear(dense, out_frames * bottleneck), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, frames, H, W) -> (B, out_frames, bottleneck)."""
        f = self.features(x)
        seq, _ = self.lstm(f.transpose(1, 2).flatten(2))
        return self.dense(seq.flatten(1)).reshape(-1, self.out_frames, self.bottleneck)

    def penalty(self) -> torch.Tensor:
        """No weight penalty."""
        return torch.zeros(())
