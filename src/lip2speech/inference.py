"""Load a trained run and reconstruct spectrograms and speech: lips -> model -> decoder -> inversion."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np
import torch
import yaml

from . import lip_inputs as LI, windows as W
from .errors import Lip2SpeechError
from .store import check_features_config, feature_config
from .timebase import SAMPLE_RATES, frame_times
from .models import UTTERANCE_SYSTEMS, build_model


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A lip2speech checkpoint as a dict; Lip2SpeechError if missing, corrupt or not ours."""
    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("checkpoint not found (is this a finished run folder?)", path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile, Exception) as exc:  # noqa: BLE001
        raise Lip2SpeechError(f"corrupt or unreadable checkpoint ({type(exc).__name__})", path) from None
    if not isinstance(ckpt, dict) or "lip2speech" not in ckpt or "state_dict" not in ckpt:
        raise Lip2SpeechError("not a lip2speech checkpoint (no lip2speech metadata)", path)
    return ckpt


def _load_net(name: str, kwargs: dict, state: dict, prefix: str, path: Path) -> torch.nn.Module:
    net = build_model(name, **kwargs)
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        net.load_state_dict(sub)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise Lip2SpeechError(f"checkpoint weights do not match the {name} model ({first})", path) from None
    return net.eval()


def _load_utterance_net(name: str, meta: dict, state: dict, path: Path) -> torch.nn.Module:
    """The whole-utterance model of a checkpoint: one net, or the ensemble of meta["members"] nets."""
    members = int(meta.get("members", 1))
    if members == 1:
        return _load_net(name, meta["model_kwargs"], state, "net.", path)
    from .models.ensemble import UtteranceEnsemble

    return UtteranceEnsemble([_load_net(name, meta["model_kwargs"], state, f"net.members.{i}.", path)
                              for i in range(members)]).eval()


class WordPrediction(NamedTuple):
    """One aligned word: its original spectrogram frames and the prediction on the same 8 ms grid (linear units)."""

    word: str
    target: np.ndarray  # (n, 128): the item's spectrogram frames inside the word's span
    pred: np.ndarray  # (n, 128)
    start_s: float  # the word's span in seconds (whole video frames)
    end_s: float


class Reconstructor:
    """A trained run: predicts the auditory spectrogram (N, 128, linear units, 8 ms grid) of an utterance."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        ckpt_path = self.run_dir / "model.ckpt"
        ckpt = load_checkpoint(ckpt_path)
        meta = ckpt["lip2speech"]
        self.meta = meta
        self.system: str = meta["system"]
        self.feature_config = meta.get("feature_config", {})
        fs = self.feature_config.get("fs")
        if fs not in SAMPLE_RATES or self.feature_config != feature_config(fs):
            raise Lip2SpeechError("checkpoint was made with another feature configuration", ckpt_path)
        self.fs: int = int(fs)  # audio rate of the spectrogram and of the speech it becomes (Hz)
        self.legacy = bool(meta.get("legacy_decompress", False))
        state = ckpt["state_dict"]
        if self.system == "autoencoder":
            self.ae = _load_net("autoencoder", meta["model_kwargs"], state, "net.", ckpt_path)
            self.net = None
        elif self.system in UTTERANCE_SYSTEMS:  # whole utterance -> spectrogram: no autoencoder
            self.ae = None
            self.net = _load_utterance_net(self.system, meta, state, ckpt_path)
            self.kind = "utterance"
            self.stats = {k: LI.NormStats.from_dict(v) for k, v in meta["stats"].items()}
        else:
            self.ae = _load_net("autoencoder", meta["ae_kwargs"], state, "ae.", ckpt_path)
            self.net = _load_net(self.system, meta["model_kwargs"], state, "net.", ckpt_path)
            self.kind, self.window_slices = meta["kind"], int(meta["window_slices"])
            self.stats = LI.NormStats.from_dict(meta["stats"])
            self.gf_input: str = meta.get("gf_input", "frames")  # checkpoints before gf_input existed: frames
        self.task: str = meta.get("task", "sentence")  # sentence | words (what the run was trained on)
        self.slices_per_word = int(meta.get("slices_per_word", W.SLICES_PER_WORD))
        cfg_path = self.run_dir / "config.yaml"
        self.config = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else meta.get("config", {})
        split_path = self.run_dir / "split.json"
        self.split = json.loads(split_path.read_text()) if split_path.is_file() else {"test": []}

    @property
    def test_keys(self) -> list[str]:
        """Held-out utterance keys of the run's split."""
        return list(self.split.get("test", []))

    @property
    def features_dir(self) -> Path:
        """The features folder the run was trained on."""
        return Path(self.config["features"])

    def check_features(self, features_dir: str | Path) -> None:
        """Lip2SpeechError if `features_dir` was prepared with another configuration than this model's."""
        check_features_config(features_dir, self.feature_config)

    @torch.no_grad()
    def decode(self, codes: np.ndarray, n_aud: int, fps: float) -> np.ndarray:
        """Slice-grid bottleneck codes (n_sl * 26, 32) -> spectrogram (n_aud, 128) in linear units."""
        comp = self.ae.decode(torch.from_numpy(np.asarray(codes, np.float32))).numpy()
        return W.slices_to_spec(W.decompress(comp, self.legacy), n_aud, fps)

    @property
    def reads_words(self) -> bool:
        """Whether the model reads the words from the lips (a gu2s run with its CTC head)."""
        return self.system in UTTERANCE_SYSTEMS and self.net.ctc is not None

    @torch.no_grad()
    def predict_utterance(self, lips: Mapping[str, Any], speaker: str | None = None,
                          n_aud: int | None = None) -> tuple[np.ndarray, list[str]]:
        """gu2s: spectrogram (n_aud or 5 per 25 fps frame, 128; linear units) and the words read from the lips
        (empty without a CTC head) of a whole utterance; an unseen speaker is normalised by its own utterance."""
        from .utterance import grid_words, utterance_input

        # an adapted model's own speaker (meta "speaker", `lip2speech adapt`) when none is named
        x = utterance_input(lips, self.stats, speaker or self.meta.get("speaker") or "<unseen>")
        want = (self.meta["model_kwargs"]["height"], self.meta["model_kwargs"]["width"])
        if self.net.use_gp and x.gp.shape[1:] != want:
            raise Lip2SpeechError(f"the model reads {want[0]}x{want[1]} Gabor pictures, these lips have "
                                  f"{x.gp.shape[1]}x{x.gp.shape[2]} (prepared with other settings)")
        out = self.net(torch.from_numpy(x.gp)[None] if self.net.use_gp else None,
                       torch.from_numpy(x.gf)[None] if self.net.use_gf else None, torch.tensor([x.frames]))
        spec = W.decompress(out["spec"][0].numpy(), False)
        if n_aud is not None and n_aud != len(spec):  # the video and audio lengths differ by a few frames
            spec = spec[np.minimum(np.arange(n_aud), len(spec) - 1)]
        words = grid_words(out["logits"][0].numpy()) if out["logits"] is not None else []
        return spec.astype(np.float32), words

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

    def predict_spectrogram(self, item: Mapping[str, Any]) -> np.ndarray:
        """Reconstructed auditory spectrogram (N, 128) on the same frame grid as item['aud'] (linear units).

        For an autoencoder run this is the autoencoder's reconstruction of item['aud'] itself."""
        aud = np.asarray(item["aud"], np.float32)
        if self.system == "autoencoder":
            return self.autoencode(aud)
        return self.predict_from_lips(item["lips"], item.get("speaker"), len(aud))[0]

    @torch.no_grad()
    def autoencode(self, aud: np.ndarray) -> np.ndarray | None:
        """The run's autoencoder reconstruction (N, 128; linear units) of a spectrogram, from the weights the run
        holds (the ceiling of a published system); None for a system without an autoencoder (gu2s)."""
        if self.ae is None:
            return None
        rec = self.ae(torch.from_numpy(W.compress(np.asarray(aud, np.float32))))[0].numpy()
        return W.decompress(rec, self.legacy).astype(np.float32)

    def predict_from_lips(self, lips: Mapping[str, Any], speaker: str | None, n_aud: int
                          ) -> tuple[np.ndarray, list[str]]:
        """Spectrogram (n_aud, 128; linear units, 8 ms grid) of a lips mapping, and the words read from the lips
        (gu2s with a CTC head; else empty); an unseen speaker is normalised by its own utterance."""
        if self.system in UTTERANCE_SYSTEMS:
            return self.predict_utterance(lips, speaker, n_aud)
        return self.decode(self.predict_codes(lips, speaker), n_aud, float(lips["fps"])), []


    @torch.no_grad()
    def predict_words(self, item: Mapping[str, Any]) -> list[WordPrediction]:
        """Every aligned word of `item` (sil/sp skipped) predicted as the vocabulary task does: the word's lips
        resampled to 2 slices, the predicted 52 frames mapped back onto the word's original 8 ms frames.
        Empty when the item has no word alignments."""
        if self.system == "autoencoder" or self.system in UTTERANCE_SYSTEMS:
            raise Lip2SpeechError(f"predict_words needs a gf2s, gp2s or lip2audspec words run, not {self.system}",
                                  self.run_dir)
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
            comp = self.ae.decode(torch.from_numpy(codes)).numpy()
            spec = W.decompress(comp, self.legacy)
            frames = W.word_frames(seg, fps, len(aud))
            t = frame_times(len(aud))[frames]
            on_grid = W.interp_rows(spec, W.word_spec_times(seg, fps, self.slices_per_word), t)
            out.append(WordPrediction(seg[0], aud[frames], on_grid, seg[1] / fps, seg[2] / fps))
        return out


def load_run(run_dir: str | Path) -> Reconstructor:
    """The trained model of a run folder (model.ckpt) or of a shipped model name (`grid-s1`), ready to predict."""
    from .shipped import resolve_run

    return Reconstructor(resolve_run(run_dir))
