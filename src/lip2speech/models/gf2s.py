"""GaborFea2Speech: seven Gabor lip features and their differences per frame -> LSTM -> bottleneck codes."""

from __future__ import annotations

import torch
from torch import nn

from .head import SequenceHead


class GF2S(nn.Module):
    """Input (B, frames, n_features) -> LSTM(512, sequence) -> head -> (B, out_frames, 32).

    `frames` is the number of input steps per window and `n_features` the values per step, set by
    train.model_kwargs_for from the GF input: the study's 26 x 21 (data.GF_INPUTS `study`) or 5 x 14 (`frames`,
    also the constructor default)."""

    input_kind = "gf"

    def __init__(self, n_features: int = 14, frames: int = 5, lstm: int = 512, dense: int = 2048,
                 out_frames: int = 26, bottleneck: int = 32, dropout_lstm: float = 0.25,
                 dropout_dense: float = 0.4) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, lstm, batch_first=True)
        self.head = SequenceHead(frames, lstm, dense, out_frames, bottleneck, dropout_lstm, dropout_dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, frames, features) -> (B, out_frames, bottleneck)."""
        seq, _ = self.lstm(x)
        return self.head(seq)

    def penalty(self) -> torch.Tensor:
        """No weight penalty."""
        return torch.zeros(())
