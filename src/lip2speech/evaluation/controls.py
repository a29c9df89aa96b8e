"""Controls a system must beat to have read anything from the lips: the mean training spectrogram (the
shuffled-lips control is a training option, `shuffle_lips`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


class MeanSpectrogram:
    """Predicts every utterance by the time-aligned mean spectrogram of the training utterances; an
    evaluate.Predictor, so it is scored like a run."""

    task, system, reads_words = "sentence", "mean spectrogram", False

    def __init__(self, features: str | Path, train_keys: Sequence[str], autoencoder_run: str | None = None) -> None:
        from ..data.store import check_features_config
        from ..training.train import mean_spectrogram

        self.fs = int(check_features_config(features)["fs"])  # Hz, of the features' spectrograms
        self.mean = mean_spectrogram(features, list(train_keys))
        self.autoencoder_run = autoencoder_run  # its reconstruction is the AE-ceiling column
        self._ae: Any = None

    def autoencode(self, aud: np.ndarray) -> np.ndarray | None:
        """The given autoencoder run's reconstruction of a spectrogram (the ceiling column), or None."""
        if not self.autoencoder_run:
            return None
        if self._ae is None:
            from ..inference import load_run

            self._ae = load_run(self.autoencoder_run)
        return self._ae.autoencode(aud)

    def predict_spectrogram(self, item: Any) -> np.ndarray:
        """The mean spectrogram resampled to the item's number of frames (N, 128)."""
        from ..data.windows import interp_matrix

        n = len(item["aud"])
        return interp_matrix(np.linspace(0, 1, len(self.mean)), np.linspace(0, 1, n)) @ self.mean
