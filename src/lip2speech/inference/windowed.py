"""The windowed path: the published systems (gf2s, gp2s, lip2audspec) read windows of lips and predict the
bottleneck codes of their autoencoder, whose decoder turns them into the spectrogram; an autoencoder run on
its own reconstructs a spectrogram (the ceiling of the systems that share it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np
import torch

from ..data import lip_inputs as LI, windows as W
from ..errors import Lip2SpeechError
from ..timebase import frame_times
from ..models.weights import load_net
from .reconstructor import Reconstructor


class WordPrediction(NamedTuple):
    """One aligned word: its original spectrogram frames and the prediction on the same 8 ms grid (linear units)."""

    word: str
    target: np.ndarray  # (n, 128): the item's spectrogram frames inside the word's span
    pred: np.ndarray  # (n, 128)
    start_s: float  # the word's span in seconds (whole video frames)
    end_s: float


class _Decoding(Reconstructor):
    """A run that holds autoencoder weights (`self.ae`): codes -> spectrogram, and its own reconstruction."""

    ae: torch.nn.Module
    legacy: bool  # the study's decompression (legacy_decompress)

    @torch.no_grad()
    def decode(self, codes: np.ndarray, n_aud: int, fps: float) -> np.ndarray:
        """Slice-grid bottleneck codes (n_sl * 26, 32) -> spectrogram (n_aud, 128) in linear units."""
        comp = self.ae.decode(torch.from_numpy(np.asarray(codes, np.float32))).numpy()
        return W.slices_to_spec(W.decompress(comp, self.legacy), n_aud, fps)

    @torch.no_grad()
    def autoencode(self, aud: np.ndarray) -> np.ndarray:
        rec = self.ae(torch.from_numpy(W.compress(np.asarray(aud, np.float32))))[0].numpy()
        return W.decompress(rec, self.legacy).astype(np.float32)


class AutoencoderRun(_Decoding):
    """An autoencoder run: its 'prediction' of an item is its reconstruction of item['aud'] itself."""

    def __init__(self, run_dir: str | Path, ckpt: Mapping[str, Any]) -> None:
        super().__init__(run_dir, ckpt)
        self.legacy = bool(self.meta.get("legacy_decompress", False))
        self.ae = load_net("autoencoder", self.meta["model_kwargs"], ckpt["state_dict"], "net.", self.ckpt_path)
        self.net = None

    def predict_spectrogram(self, item: Mapping[str, Any]) -> np.ndarray:
        return self.autoencode(np.asarray(item["aud"], np.float32))


class WindowReconstructor(_Decoding):
    """A published system: overlapping windows of lips -> bottleneck codes (averaged where windows overlap) ->
    the decoder of the autoencoder the run trained with (its weights travel in the checkpoint, under ae.)."""

    def __init__(self, run_dir: str | Path, ckpt: Mapping[str, Any]) -> None:
        super().__init__(run_dir, ckpt)
        meta, state = self.meta, ckpt["state_dict"]
        self.legacy = bool(meta.get("legacy_decompress", False))
        self.ae = load_net("autoencoder", meta["ae_kwargs"], state, "ae.", self.ckpt_path)
        self.net = load_net(self.system, meta["model_kwargs"], state, "net.", self.ckpt_path)
        self.kind, self.window_slices = meta["kind"], int(meta["window_slices"])
        self.stats = LI.NormStats.from_dict(meta["stats"])
        self.gf_input: str = meta.get("gf_input", "frames")  # checkpoints before gf_input existed: frames
        self.slices_per_word = int(meta.get("slices_per_word", W.SLICES_PER_WORD))

    @torch.no_grad()
    def predict_codes(self, lips: Mapping[str, Any], speaker: str | None = None) -> np.ndarray:
        """Bottleneck codes (n_slices * 26, 32) predicted from a lips mapping; unseen speaker: self-normalised."""
        n_sl = W.n_slices(len(lips["valid"]))
        if n_sl < self.window_slices:
            raise Lip2SpeechError(f"video too short: needs at least {self.window_slices * W.SLICE_FRAMES} frames")
        x = W.cut_windows(LI.utterance_input(lips, self.kind, self.stats, speaker or "<unseen>", self.gf_input),
                          self.kind, n_sl, self.window_slices, W.slice_steps(self.kind, self.gf_input))
        pred = np.concatenate([self.net(torch.from_numpy(x[i:i + 64])).numpy() for i in range(0, len(x), 64)])
        return W.overlap_average(pred, n_sl, self.window_slices)

    def predict_from_lips(self, lips: Mapping[str, Any], speaker: str | None, n_aud: int
                          ) -> tuple[np.ndarray, list[str]]:
        return self.decode(self.predict_codes(lips, speaker), n_aud, float(lips["fps"])), []

    @torch.no_grad()
    def predict_words(self, item: Mapping[str, Any]) -> list[WordPrediction]:
        """Every aligned word of `item` (sil/sp skipped) predicted as the vocabulary task does: the word's lips
        resampled to 2 slices, the predicted 52 frames mapped back onto the word's original 8 ms frames.
        Empty when the item has no word alignments."""
        lips, aud = item["lips"], np.asarray(item["aud"], np.float32)
        fps = float(lips["fps"])
        segs = [s for s in W.word_segments(item.get("word_times"), fps, len(lips["valid"]))
                if len(W.word_frames(s, fps, len(aud)))]
        if not segs:
            return []
        x = LI.word_input(lips, self.kind, self.stats, item.get("speaker") or "<unseen>", self.gf_input)
        windows, _ = W.word_samples(x, aud, self.kind, fps, segs, self.window_slices, self.slices_per_word,
                                    self.gf_input)
        pred = np.concatenate([self.net(torch.from_numpy(windows[i:i + 64])).numpy()
                               for i in range(0, len(windows), 64)])
        per_word = self.slices_per_word - self.window_slices + 1
        out = []
        for j, seg in enumerate(segs):
            codes = W.overlap_average(pred[j * per_word:(j + 1) * per_word], self.slices_per_word,
                                      self.window_slices)
            spec = W.decompress(self.ae.decode(torch.from_numpy(codes)).numpy(), self.legacy)
            frames = W.word_frames(seg, fps, len(aud))
            t = frame_times(len(aud))[frames]
            on_grid = W.interp_rows(spec, W.word_spec_times(seg, fps, self.slices_per_word), t)
            out.append(WordPrediction(seg[0], aud[frames], on_grid, seg[1] / fps, seg[2] / fps))
        return out
