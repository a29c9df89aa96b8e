"""Several trained whole-utterance models of one recipe as one: their outputs averaged."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


class UtteranceEnsemble(nn.Module):
    """gu2s members (same inputs and output grid) -> {"spec": mean compressed spectrogram (B, 5T, bins),
    "logits": log of the mean CTC probabilities (B, T, vocab) or None}."""

    input_kind = "utterance"

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    # Read from the first member (properties, so the state dict holds each weight once, under members.i.)
    @property
    def use_gp(self) -> bool:
        return self.members[0].use_gp

    @property
    def use_gf(self) -> bool:
        return self.members[0].use_gf

    @property
    def use_mouth(self) -> bool:
        return getattr(self.members[0], "use_mouth", False)

    @property
    def ctc(self) -> nn.Module | None:
        return self.members[0].ctc

    def forward(self, gp: torch.Tensor | None, gf: torch.Tensor | None,
                lengths: torch.Tensor, mouth: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        outs = [m(gp, gf, lengths, mouth) for m in self.members]
        spec = torch.stack([o["spec"] for o in outs]).mean(0)
        if any(o["logits"] is None for o in outs):
            return {"spec": spec, "logits": None}
        logits = torch.logsumexp(torch.stack([o["logits"] for o in outs]), 0) - math.log(len(outs))
        return {"spec": spec, "logits": logits}
