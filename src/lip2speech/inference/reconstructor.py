"""What every trained run offers inference: the run folder read back (its checkpoint's metadata, feature
configuration, config and split) and the one question all systems answer, `predict_spectrogram`. The systems
answer it in their own way: windowed.py (the published systems and their autoencoder) and whole_utterance.py
(gu2s); load.py picks the one a checkpoint needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import yaml

from ..data.store import check_features_config, feature_config
from ..errors import Lip2SpeechError
from ..models import build_model
from ..training.run_folder import SPLIT_FILE, read_split
from ..timebase import SAMPLE_RATES


class Reconstructor:
    """A trained run: predicts the auditory spectrogram (N, 128, linear units, 8 ms grid) of an utterance.

    `ckpt` is the run's model.ckpt as loaded (training.run_folder.load_checkpoint); subclasses load their nets."""

    def __init__(self, run_dir: str | Path, ckpt: Mapping[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        meta = ckpt["lip2speech"]
        self.meta = meta
        self.system: str = meta["system"]
        self.feature_config = meta.get("feature_config", {})
        fs = self.feature_config.get("fs")
        if fs not in SAMPLE_RATES or self.feature_config != feature_config(fs):
            raise Lip2SpeechError("checkpoint was made with another feature configuration", self.ckpt_path)
        self.fs: int = int(fs)  # audio rate of the spectrogram and of the speech it becomes (Hz)
        self.task: str = meta.get("task", "sentence")  # sentence | words (what the run was trained on)
        cfg_path = self.run_dir / "config.yaml"
        self.config = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else meta.get("config", {})
        split_path = self.run_dir / SPLIT_FILE
        from ..lips.framing import model_mouth_width

        # px: the median mouth box width its training lips were made at (None: video px, the published way)
        self.mouth_width: float | None = model_mouth_width(self.run_dir, self.config)
        self.split = read_split(split_path) if split_path.is_file() else {"test": []}

    @property
    def ckpt_path(self) -> Path:
        """The checkpoint the run was loaded from."""
        return self.run_dir / "model.ckpt"

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

    @property
    def face_size(self) -> int:
        """The side (px) of the grey face crops the model reads (lips.crop_size.FACE_SIZE unless it reads them)."""
        from ..lips.crop_size import FACE_SIZE

        return FACE_SIZE

    @property
    def reads_words(self) -> bool:
        """Whether the model reads the words from the lips (a gu2s run with its CTC head)."""
        return False

    def autoencode(self, aud: np.ndarray) -> np.ndarray | None:
        """The run's autoencoder reconstruction (N, 128; linear units) of a spectrogram, from the weights the run
        holds (the ceiling of a published system); None for a system without an autoencoder (gu2s)."""
        return None

    def predict_from_lips(self, lips: Mapping[str, Any], speaker: str | None, n_aud: int
                          ) -> tuple[np.ndarray, list[str]]:
        """Spectrogram (n_aud, 128; linear units, 8 ms grid) of a lips mapping, and the words read from the lips
        (gu2s with a CTC head; else empty); an unseen speaker is normalised by its own utterance."""
        raise NotImplementedError

    def predict_spectrogram(self, item: Mapping[str, Any]) -> np.ndarray:
        """Reconstructed auditory spectrogram (N, 128) on the same frame grid as item['aud'] (linear units)."""
        return self.predict_from_lips(item["lips"], item.get("speaker"), len(item["aud"]))[0]

    def predict_words(self, item: Mapping[str, Any]) -> list:
        """Every aligned word of `item` predicted as the vocabulary task does (windowed words runs only)."""
        raise Lip2SpeechError(f"predict_words needs a gf2s, gp2s or lip2audspec words run, not {self.system}",
                              self.run_dir)
