"""GaborPic2Speech: Gabor lip pictures (GP, delta, delta^2) -> 3-D conv -> LSTM -> bottleneck codes."""

from __future__ import annotations

import torch
from torch import nn

from .head import SequenceHead


class GP2S(nn.Module):
    """Input (B, 3, frames, 40, 80) -> Conv3d(16, 3x3x3) -> BN -> LeakyReLU -> pool(2,2 spatial) -> LSTM -> head."""

    input_kind = "gp"

    def __init__(self, in_channels: int = 3, frames: int = 5, height: int = 40, width: int = 80,
                 filters: int = 16, lstm: int = 512, dense: int = 2048, out_frames: int = 26,
                 bottleneck: int = 32, conv_l2: float = 5e-4, dropout_conv: float = 0.25,
                 dropout_lstm: float = 0.25, dropout_dense: float = 0.4) -> None:
        super().__init__()
        self.conv_l2 = conv_l2
        self.conv = nn.Conv3d(in_channels, filters, 3, padding=1)
        self.features = nn.Sequential(
            self.conv, nn.BatchNorm3d(filters), nn.LeakyReLU(0.2), nn.MaxPool3d((1, 2, 2)), nn.Dropout(dropout_conv)
        )
        self.lstm = nn.LSTM(filters * (height // 2) * (width // 2), lstm, batch_first=True)
        self.head = SequenceHead(frames, lstm, dense, out_frames, bottleneck, dropout_lstm, dropout_dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, frames, H, W) -> (B, out_frames, bottleneck)."""
        f = self.features(x)  # (B, F, T, H/2, W/2)
        seq, _ = self.lstm(f.transpose(1, 2).flatten(2))
        return self.head(seq)

    def penalty(self) -> torch.Tensor:
        """L2 penalty on the conv kernel (Keras-style kernel_regularizer)."""
        return self.conv_l2 * self.conv.weight.pow(2).sum()
