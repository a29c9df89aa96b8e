"""A small word recogniser on compressed auditory spectrograms: CTC over the 51 GRID words (index 0 = blank).

Trained on the *true* spectrograms of the training clips and then frozen, it turns "is the predicted speech
recognisable?" into a differentiable loss for gu2s (the recognisability objective). It is never the judge: the
evaluation recogniser stays pocketsphinx (`lip2speech.asr`), independent of training.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

STRIDE = 4  # spectrogram frames (8 ms) per recogniser frame (32 ms)


class SpecRecogniser(nn.Module):
    """(B, T, bins) compressed spectrogram + lengths (B,) in spectrogram frames -> (B, T/4, vocab) log-probs."""

    def __init__(self, bins: int = 128, vocab: int = 52, conv: int = 128, gru: int = 128,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.kwargs = dict(bins=bins, vocab=vocab, conv=conv, gru=gru, dropout=dropout)
        self.conv = nn.Sequential(
            nn.Conv1d(bins, conv, 5, stride=2, padding=2), nn.BatchNorm1d(conv), nn.GELU(),
            nn.Conv1d(conv, conv, 5, stride=2, padding=2), nn.BatchNorm1d(conv), nn.GELU())
        self.gru = nn.GRU(conv, gru, num_layers=2, batch_first=True, bidirectional=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * gru, vocab)

    @staticmethod
    def out_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Recogniser frames of inputs of `lengths` spectrogram frames."""
        for _ in range(2):
            lengths = (lengths + 1) // 2
        return lengths.clamp(min=1)

    def forward(self, spec: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.conv(spec.transpose(1, 2)).transpose(1, 2)
        n = self.out_lengths(lengths).clamp(max=h.shape[1])
        packed = pack_padded_sequence(h, n.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=h.shape[1])
        return torch.log_softmax(self.out(self.drop(h)), dim=-1)
