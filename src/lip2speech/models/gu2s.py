"""GaborUtt2Speech (gu2s): a whole utterance of Gabor lips -> its auditory spectrogram, plus a word read-out.

Per video frame: the Gabor picture (GP, delta, delta^2) through a small strided 2-D CNN, concatenated with the
seven Gabor features and their differences (and, with use_mouth, the grey mouth region of the face crop through a
CNN of its own: what the Gabor magnitude drops, teeth, tongue, shading); a temporal convolution and a bidirectional GRU give every frame
context in both directions; a x5 transposed convolution maps 25 fps to the 8 ms spectrogram grid (5 frames per
video frame), and an optional residual post-net sharpens the output. Output: the compressed (power 0.3)
spectrogram, 128 bins. An optional CTC head over the 51 GRID words (index 0 = blank) reads the words from
the lips (the text objective).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

UPSAMPLE = 5  # spectrogram frames (8 ms) per video frame (40 ms)


def _deltas(x: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) -> (B, T, 3, ...): frames, first and second temporal differences (0 at the start)."""
    d1 = torch.diff(x, dim=1, prepend=x[:, :1])
    d2 = torch.diff(d1, dim=1, prepend=d1[:, :1])
    return torch.stack([x, d1, d2], dim=2)


class PictureEncoder(nn.Module):
    """(N, 3, H, W) Gabor pictures -> (N, embed): three stride-2 conv layers, flatten, linear."""

    #: the layout the convolutions run in: channels-last runs them faster on the CPU (benchmarks/encoder_speed.py)
    memory_format = torch.channels_last

    def __init__(self, height: int, width: int, channels: tuple[int, ...], embed: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, h, w = 3, height, width
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            c_in, h, w = c, (h + 1) // 2, (w + 1) // 2
        self.conv = nn.Sequential(*layers)
        self.out = nn.Linear(c_in * h * w, embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x.contiguous(memory_format=self.memory_format)).flatten(1))


class PostNet(nn.Module):
    """Residual 1-D conv stack over spectrogram frames (B, bins, N) -> (B, bins, N)."""

    def __init__(self, bins: int, channels: int, layers: int, kernel: int = 5) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        c_in = bins
        for i in range(layers):
            c_out = bins if i == layers - 1 else channels
            mods += [nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)]
            if i < layers - 1:
                mods += [nn.BatchNorm1d(c_out), nn.Tanh()]
            c_in = c_out
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class GU2S(nn.Module):
    """Inputs gp (B, T, H, W) and gf (B, T, 7) normalised, lengths (B,) video frames (and mouth (B, T, h, w) with
    use_mouth) ->
    {"spec": (B, 5T, bins) compressed spectrogram, "logits": (B, T, vocab) CTC log-probabilities or None}."""

    input_kind = "utterance"

    def __init__(self, height: int = 40, width: int = 80, use_gp: bool = True, use_gf: bool = True,
                 cnn: tuple[int, ...] | list[int] = (16, 32, 64), embed: int = 128, conv: int = 256,
                 gru: int = 192, gru_layers: int = 2, bins: int = 128, postnet: int = 128,
                 postnet_layers: int = 3, vocab: int = 52, ctc: bool = True, dropout: float = 0.2,
                 use_mouth: bool = False, mouth_height: int = 32, mouth_width: int = 48,
                 mouth_cnn: tuple[int, ...] | list[int] = ()) -> None:
        super().__init__()
        if not (use_gp or use_gf):
            raise ValueError("gu2s needs use_gp or use_gf")
        self.use_gp, self.use_gf, self.use_mouth, self.bins = use_gp, use_gf, use_mouth, bins
        self.pictures = PictureEncoder(height, width, tuple(cnn), embed) if use_gp else None
        # the mouth region's own conv channels (empty: cnn's); a larger region takes a fourth stride-2 layer
        self.mouth = PictureEncoder(mouth_height, mouth_width, tuple(mouth_cnn or cnn), embed) if use_mouth else None
        d_in = (embed if use_gp else 0) + (21 if use_gf else 0) + (embed if use_mouth else 0)
        self.frame = nn.Sequential(nn.Conv1d(d_in, conv, 5, padding=2), nn.BatchNorm1d(conv), nn.ReLU(),
                                   nn.Dropout(dropout))
        self.gru = nn.GRU(conv, gru, num_layers=gru_layers, batch_first=True, bidirectional=True,
                          dropout=dropout if gru_layers > 1 else 0.0)
        self.up = nn.ConvTranspose1d(2 * gru, conv, UPSAMPLE, stride=UPSAMPLE)
        self.smooth = nn.Sequential(nn.ReLU(), nn.Conv1d(conv, conv, 5, padding=2), nn.ReLU(),
                                    nn.Conv1d(conv, bins, 1))
        self.postnet = PostNet(bins, postnet, postnet_layers) if postnet_layers > 0 else None
        self.ctc = nn.Linear(2 * gru, vocab) if ctc else None

    def encode(self, gp: torch.Tensor | None, gf: torch.Tensor | None, lengths: torch.Tensor,
               mouth: torch.Tensor | None = None) -> torch.Tensor:
        """Per-frame context features (B, T, 2 * gru)."""
        parts = []
        if self.use_gp:
            b, t = gp.shape[:2]
            parts.append(self.pictures(_deltas(gp).flatten(0, 1)).reshape(b, t, -1))
        if self.use_gf:
            parts.append(_deltas(gf).flatten(2))
        if self.use_mouth:
            if mouth is None:
                raise ValueError("this gu2s reads the grey mouth region: pass mouth (B, T, h, w)")
            b, t = mouth.shape[:2]
            parts.append(self.mouth(_deltas(mouth).flatten(0, 1)).reshape(b, t, -1))
        h = self.frame(torch.cat(parts, dim=2).transpose(1, 2)).transpose(1, 2)
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])[0]

    def forward(self, gp: torch.Tensor | None, gf: torch.Tensor | None,
                lengths: torch.Tensor, mouth: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        ctx = self.encode(gp, gf, lengths, mouth)
        spec = self.smooth(self.up(ctx.transpose(1, 2)))
        if self.postnet is not None:
            spec = self.postnet(spec)
        logits = self.ctc(ctx).log_softmax(-1) if self.ctc is not None else None
        return {"spec": spec.transpose(1, 2), "logits": logits}

    def penalty(self) -> torch.Tensor:
        """No extra weight penalty (AdamW's weight decay regularises)."""
        return torch.zeros(())
