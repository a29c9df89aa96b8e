"""Training losses: corr2 (Pearson correlation over spectrogram cells, optionally of the valid frames only), the
published -corr2 + MSE of the windowed systems, and gu2s's whole-utterance losses (L1 + corr2 + sharpness,
linear-domain corr2, short-time band-envelope correlation, CTC over the GRID words)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..data import windows as W


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a finite gradient at 0: a constant stretch (a window of padding, a silent target) would
    otherwise give an infinite gradient that its zero weight turns into NaN."""
    return x.clamp_min(1e-20).sqrt()


def corr2_torch(pred: torch.Tensor, target: torch.Tensor, per_sample: bool = True,
                mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pearson correlation over all cells, per sample (B,) or over the whole batch (scalar); with `mask` (B, N)
    of inputs (B, N, ...), over the cells of the valid frames only."""
    b = pred.shape[0] if per_sample else 1
    p, t = pred.reshape(b, -1), target.reshape(b, -1)
    if mask is None:
        p = p - p.mean(1, keepdim=True)
        t = t - t.mean(1, keepdim=True)
        return (p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1) + 1e-8)
    m = mask.reshape(mask.shape + (1,) * (pred.ndim - mask.ndim)).expand_as(pred).reshape(b, -1)
    cnt = m.sum(1, keepdim=True).clamp_min(1)
    p = p - (p * m).sum(1, keepdim=True) / cnt
    t = t - (t * m).sum(1, keepdim=True) / cnt
    return (p * t * m).sum(1) / (_safe_sqrt((p * p * m).sum(1) * (t * t * m).sum(1)) + 1e-8)


def corr_mse_loss(pred: torch.Tensor, target: torch.Tensor, per_sample: bool = True) -> torch.Tensor:
    """-corr2 + MSE (the published loss)."""
    return -corr2_torch(pred, target, per_sample).mean() + torch.mean((pred - target) ** 2)


def frame_mask(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """(B, n) float mask of the first lengths[b] frames."""
    return (torch.arange(n, device=lengths.device)[None] < lengths[:, None]).float()


def envelope_corr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, band: int = 8, window: int = 48,
                  hop: int = 8) -> torch.Tensor:
    """Mean correlation of short-time band envelopes of two linear spectrograms (B, N, 128), the quantity STOI
    scores: channels summed in bands of `band` (8 = 1/3 octave), correlated over windows of `window` frames
    (48 = 384 ms) every `hop` frames; windows reaching past the valid frames (mask (B, N)) are left out."""
    b, n, c = pred.shape
    if n < window:
        return pred.new_tensor(1.0)
    env_p = pred[..., : c - c % band].reshape(b, n, -1, band).sum(-1).transpose(1, 2)  # (B, bands, N)
    env_t = target[..., : c - c % band].reshape(b, n, -1, band).sum(-1).transpose(1, 2)
    seg_p = env_p.unfold(2, window, hop)  # (B, bands, S, window)
    seg_t = env_t.unfold(2, window, hop)
    valid = mask.unfold(1, window, hop).amin(-1)  # (B, S): 1 where the whole window is valid
    seg_p = seg_p - seg_p.mean(-1, keepdim=True)
    seg_t = seg_t - seg_t.mean(-1, keepdim=True)
    r = (seg_p * seg_t).sum(-1) / (_safe_sqrt((seg_p * seg_p).sum(-1) * (seg_t * seg_t).sum(-1)) + 1e-8)
    w = valid[:, None, :].expand_as(r)
    return (r * w).sum() / w.sum().clamp_min(1)


#: Frames (8 ms) of the windows the loudness term correlates over, and their hop: 128 ms, the syllable-scale
#: loudness detail that STOI is most sensitive to (benchmarks/stoi_oracle.py).
LOUDNESS_WINDOW, LOUDNESS_HOP = 16, 4


def spectrogram_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                     sharpness: float = 1.0, linear_corr2: float = 0.0,
                     envelope: float = 0.0, loudness: float = 0.0) -> dict[str, torch.Tensor]:
    """L1 + (1 - corr2) on the compressed spectrogram, plus `sharpness` x L1 of its time and frequency
    differences (keeps transitions and formant edges that averaging losses blur), plus `linear_corr2` x
    (1 - corr2) of the decompressed (linear) spectrograms, the published metric, plus `envelope` x
    (1 - envelope_corr) of the linear spectrograms (what STOI scores), plus `loudness` x (1 - correlation of
    their frame loudness, all channels summed, over 128 ms windows); all over valid frames."""
    m = mask[..., None]
    denom = (m.sum() * pred.shape[2]).clamp_min(1)
    l1 = ((pred - target).abs() * m).sum() / denom
    corr = corr2_torch(pred, target, mask=mask)
    out = {"l1": l1, "corr2": corr.mean(), "loss": l1 + (1 - corr).mean()}
    if linear_corr2 > 0 or envelope > 0 or loudness > 0:
        lin_p, lin_t = pred.clamp_min(0) ** (1 / W.COMPRESS), target.clamp_min(0) ** (1 / W.COMPRESS)
    if linear_corr2 > 0:
        lin = corr2_torch(lin_p, lin_t, mask=mask)
        out["linear_corr2"] = lin.mean()
        out["loss"] = out["loss"] + linear_corr2 * (1 - lin).mean()
    if envelope > 0:
        out["envelope"] = envelope_corr(lin_p, lin_t, mask)
        out["loss"] = out["loss"] + envelope * (1 - out["envelope"])
    if loudness > 0:
        out["loudness"] = envelope_corr(lin_p, lin_t, mask, band=pred.shape[2], window=LOUDNESS_WINDOW,
                                        hop=LOUDNESS_HOP)
        out["loss"] = out["loss"] + loudness * (1 - out["loudness"])
    if sharpness > 0:
        mt = m[:, 1:] * m[:, :-1]
        dt = ((pred.diff(dim=1) - target.diff(dim=1)).abs() * mt).sum() / (mt.sum() * pred.shape[2]).clamp_min(1)
        df = ((pred.diff(dim=2) - target.diff(dim=2)).abs() * m).sum() / (m.sum() * (pred.shape[2] - 1)).clamp_min(1)
        out["sharp"] = dt + df
        out["loss"] = out["loss"] + sharpness * (dt + df)
    return out


def ctc_loss(logits: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
             token_lengths: torch.Tensor) -> torch.Tensor:
    """CTC loss of the word read-out (mean over utterances with words; 0 when none has any)."""
    keep = token_lengths > 0
    if not bool(keep.any()):
        return logits.sum() * 0
    return F.ctc_loss(logits[keep].transpose(0, 1), tokens[keep], lengths[keep], token_lengths[keep],
                      blank=0, zero_infinity=True)
