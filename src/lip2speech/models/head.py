"""Shared parts of the speech models: post-LSTM head that outputs bottleneck codes per spectrogram frame."""

from __future__ import annotations

import torch
from torch import nn


class SequenceHead(nn.Module):
    """LSTM sequence (B, T, H) -> BN -> ELU -> dropout -> flatten -> dense -> BN -> ELU -> dropout -> sigmoid codes."""

    def __init__(self, steps: int, hidden: int, dense: int, out_frames: int, bottleneck: int,
                 dropout_lstm: float = 0.25, dropout_dense: float = 0.4) -> None:
        super().__init__()
        self.out_frames, self.bottleneck = out_frames, bottleneck
        self.bn_seq = nn.BatchNorm1d(hidden)
        self.drop_seq = nn.Dropout(dropout_lstm)
        self.dense = nn.Sequential(
            nn.Linear(steps * hidden, dense), nn.BatchNorm1d(dense), nn.ELU(), nn.Dropout(dropout_dense),
            nn.Linear(dense, out_frames * bottleneck), nn.Sigmoid(),
        )

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, out_frames, bottleneck)."""
        h = self.drop_seq(nn.functional.elu(self.bn_seq(seq.transpose(1, 2)))).transpose(1, 2)
        return self.dense(h.flatten(1)).reshape(-1, self.out_frames, self.bottleneck)
