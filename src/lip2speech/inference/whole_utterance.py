"""The whole-utterance path: gu2s reads all of an utterance's lips at once and predicts its spectrogram
directly (no autoencoder), and with its CTC head the words; a shipped model may average several members."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from ..data import lip_inputs as LI, windows as W
from ..errors import Lip2SpeechError
from ..models.weights import load_utterance_net
from .reconstructor import Reconstructor


class UtteranceReconstructor(Reconstructor):
    """A gu2s run (or a shipped average of several): whole utterance of lips -> spectrogram and words."""

    kind = "utterance"

    def __init__(self, run_dir: str | Path, ckpt: Mapping[str, Any]) -> None:
        super().__init__(run_dir, ckpt)
        self.net = load_utterance_net(self.system, self.meta, ckpt["state_dict"], self.ckpt_path)
        self.stats = {k: LI.NormStats.from_dict(v) for k, v in self.meta["stats"].items()}

    @property
    def reads_words(self) -> bool:
        return self.net.ctc is not None

    @property
    def face_size(self) -> int:
        return LI.model_face_size(self.meta["model_kwargs"])

    def check_features(self, features_dir: str | Path) -> None:
        """Also Lip2SpeechError when the model reads the mouth region and the folder holds face crops of another
        size."""
        from ..data.features import folder_face_size

        super().check_features(features_dir)
        held = folder_face_size(Path(features_dir))
        if held is not None and not LI.reads_face_size(self.meta["model_kwargs"], held):
            raise Lip2SpeechError(f"these features hold face crops of {held} px, the model reads {self.face_size} px: "
                                  f"prepare them with --face-size {self.face_size}", features_dir)

    @torch.no_grad()
    def predict_utterance(self, lips: Mapping[str, Any], speaker: str | None = None,
                          n_aud: int | None = None) -> tuple[np.ndarray, list[str]]:
        """Spectrogram (n_aud or 5 per 25 fps frame, 128; linear units) and the words read from the lips
        (empty without a CTC head) of a whole utterance; an unseen speaker is normalised by its own utterance."""
        from ..data.utterance import grid_words, utterance_input

        # an adapted model's own speaker (meta "speaker", `lip2speech adapt`) when none is named
        mouth = bool(getattr(self.net, "use_mouth", False))
        x = utterance_input(lips, self.stats, speaker or self.meta.get("speaker") or "<unseen>", mouth)
        want = (self.meta["model_kwargs"]["height"], self.meta["model_kwargs"]["width"])
        if self.net.use_gp and x.gp.shape[1:] != want:
            raise Lip2SpeechError(f"the model reads {want[0]}x{want[1]} Gabor pictures, these lips have "
                                  f"{x.gp.shape[1]}x{x.gp.shape[2]} (prepared with other settings)")
        if mouth and tuple(x.mouth.shape[1:]) != LI.model_mouth_size(self.meta["model_kwargs"]):
            raise Lip2SpeechError(f"the model reads face crops of {self.face_size} px, these lips have "
                                  f"{len(lips['faces'][0])} px: extract or prepare them with --face-size "
                                  f"{self.face_size}")
        out = self.net(torch.from_numpy(x.gp)[None] if self.net.use_gp else None,
                       torch.from_numpy(x.gf)[None] if self.net.use_gf else None, torch.tensor([x.frames]),
                       torch.from_numpy(x.mouth)[None] if mouth else None)
        spec = W.decompress(out["spec"][0].numpy(), False)
        if n_aud is not None and n_aud != len(spec):  # the video and audio lengths differ by a few frames
            spec = spec[np.minimum(np.arange(n_aud), len(spec) - 1)]
        words = grid_words(out["logits"][0].numpy()) if out["logits"] is not None else []
        return spec.astype(np.float32), words

    def predict_from_lips(self, lips: Mapping[str, Any], speaker: str | None, n_aud: int
                          ) -> tuple[np.ndarray, list[str]]:
        return self.predict_utterance(lips, speaker, n_aud)
