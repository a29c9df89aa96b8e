"""Lip inputs of the windowed systems: invalid frames filled, per-speaker normalisation (NormStats), temporal
differences, the GF input layouts and augmentation.

GF input (TrainConfig.gf_input): `study` (the study's code) spline-interpolates the 7 GF to 26 steps per slice
and appends their first and second differences (26 x 21 per slice); `frames` keeps the 5 video frames of a
slice with the 7 GF and their first differences (5 x 14).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from .windows import N_GF, check_gf_input, deltas, n_slices, nearest_index, study_gf, study_steps


FLIP_GF_COLUMNS = (3, 6)  # centroid x and orientation change sign under a horizontal flip
# The grey mouth region of a face crop (lips.gabor.face_crop), as fractions of its side: rows from the nose tip to
# the chin, columns between the cheeks; 32 x 48 px of a 64 px crop.
MOUTH_ROWS, MOUTH_COLS = (30 / 64, 62 / 64), (8 / 64, 56 / 64)


def mouth_bounds(side: int) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 (px) of the mouth region of a face crop of `side` px, as (r0, r1, c0, c1)."""
    (r0, r1), (c0, c1) = ((int(round(a * side)), int(round(b * side))) for a, b in (MOUTH_ROWS, MOUTH_COLS))
    return r0, r1, c0, c1


def mouth_size(side: int) -> tuple[int, int]:
    """(height, width) px of the mouth region of a face crop of `side` px (32 x 48 of 64)."""
    r0, r1, c0, c1 = mouth_bounds(side)
    return r1 - r0, c1 - c0


def mouth_region(faces: np.ndarray) -> np.ndarray:
    """The grey mouth region (T, h, w) of face crops (T, S, S), same dtype (32 x 48 px of a 64 px crop)."""
    r0, r1, c0, c1 = mouth_bounds(faces.shape[1])
    return faces[:, r0:r1, c0:c1]


def model_mouth_size(model_kwargs: Mapping[str, Any]) -> tuple[int, int]:
    """(height, width) px of the mouth region a model with these constructor sizes reads."""
    return int(model_kwargs.get("mouth_height", 32)), int(model_kwargs.get("mouth_width", 48))


def model_face_size(model_kwargs: Mapping[str, Any]) -> int:
    """The face crop side (px) a model with these constructor sizes reads: the one whose mouth region has its
    mouth size (mouth_size's inverse: 32 x 48 -> 64), or lips.crop_size.FACE_SIZE when it reads no mouth region."""
    from ..lips.crop_size import FACE_SIZE

    if not model_kwargs.get("use_mouth"):
        return FACE_SIZE
    want = model_mouth_size(model_kwargs)
    guess = int(round(want[0] / (MOUTH_ROWS[1] - MOUTH_ROWS[0])))
    exact = [side for side in range(max(guess - 3, 1), guess + 4) if mouth_size(side) == want]
    return min(exact, key=lambda side: abs(side - guess)) if exact else guess


def reads_face_size(model_kwargs: Mapping[str, Any], side: int) -> bool:
    """Whether a model with these constructor sizes reads face crops of `side` px (always, without a mouth
    region; else when their mouth region has the model's mouth size)."""
    return not model_kwargs.get("use_mouth") or mouth_size(side) == model_mouth_size(model_kwargs)


def fill_invalid(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace frames without a face by the nearest frame with one (along axis 0)."""
    valid = np.asarray(valid, dtype=bool)
    if valid.all():
        return x
    if not valid.any():
        raise Lip2SpeechError("no face found in any frame")
    return x[nearest_index(valid)]


@dataclass
class NormStats:
    """Per-speaker mean and std of one lip input (gf: per feature; gp/faces/mouth: one scalar)."""

    kind: str
    per_speaker: dict[str, tuple[list[float], list[float]]]

    def get(self, speaker: str, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) for `speaker`; an unseen speaker is normalised by its own utterance `x`."""
        if speaker in self.per_speaker:
            m, s = self.per_speaker[speaker]
            return np.asarray(m, np.float32), np.asarray(s, np.float32)
        if x is None:
            raise Lip2SpeechError(f"no normalisation statistics for speaker {speaker!r}")
        return _moments(self.kind, [x])

    def to_dict(self) -> dict[str, Any]:
        # plain floats: numpy scalars would stop Lightning's weights-only checkpoint loading from resuming
        return {"kind": self.kind, "per_speaker": {k: [[float(v) for v in m], [float(v) for v in s]]
                                                   for k, (m, s) in self.per_speaker.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NormStats":
        return cls(d["kind"], {k: (list(v[0]), list(v[1])) for k, v in d["per_speaker"].items()})


def raw_lips(lips: Mapping[str, np.ndarray], kind: str) -> np.ndarray:
    """The raw per-frame lip input of `kind`, non-finite frames filled: gf (T,7), gp (T,H,W), faces (T,S,S) and
    mouth (T,h,w: the grey mouth region of the face crops) in [0,1]."""
    if kind == "mouth":
        x = mouth_region(np.asarray(lips["faces"])).astype(np.float32) / 255.0
    else:
        x = np.asarray(lips[kind], dtype=np.float32)
    if kind == "faces":
        x = x / 255.0
    if not np.asarray(lips["valid"], bool).any():
        raise Lip2SpeechError("no face found in any frame")
    # The lip front end already interpolates frames without a face; only non-finite frames need filling.
    return fill_invalid(x, np.isfinite(x.reshape(len(x), -1)).all(1))


def _moments(kind: str, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    axis = 0 if kind == "gf" else None
    if kind == "gf":
        cat = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays]).astype(np.float64)
        m, s = cat.mean(axis), cat.std(axis)
    else:
        n = sum(a.size for a in arrays)
        m = sum(float(a.sum(dtype=np.float64)) for a in arrays) / n
        v = sum(float(((a - m) ** 2).sum(dtype=np.float64)) for a in arrays) / n
        m, s = np.array([m]), np.array([np.sqrt(v)])
    s = np.where(s > 1e-8, s, 1.0)
    return m.astype(np.float32), s.astype(np.float32)


def compute_stats(kind: str, items: Callable[[], Iterator[tuple[str, Mapping[str, np.ndarray]]]]) -> NormStats:
    """Per-speaker stats of lip input `kind` from a stream of (speaker, lips); gp/faces stream running sums."""
    acc: dict[str, list[float]] = {}
    gf: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for speaker, lips in items():
        x = raw_lips(lips, kind).astype(np.float64)
        if kind == "gf":
            gf[speaker].append(x)  # 7 floats per frame: small enough to keep
        else:
            a = acc.setdefault(speaker, [0.0, 0.0, 0.0])
            a[0] += x.size
            a[1] += x.sum()
            a[2] += (x * x).sum()
    per: dict[str, tuple[list[float], list[float]]] = {}
    if kind == "gf":
        for spk, arrs in gf.items():
            m, s = _moments("gf", arrs)
            per[spk] = (m.tolist(), s.tolist())
    else:
        for spk, (n, s1, s2) in acc.items():
            m = s1 / n
            sd = float(np.sqrt(max(s2 / n - m * m, 0.0)))
            per[spk] = ([m], [sd if sd > 1e-8 else 1.0])
    return NormStats(kind, per)


def normalised_lips(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str) -> np.ndarray:
    """Per-frame lip input normalised by the speaker's statistics (an unseen speaker: by its own utterance):
    gf (T, 7); gp/faces (T, H, W)."""
    x = raw_lips(lips, kind)
    m, s = stats.get(speaker, x)
    return ((x - m) / s if kind == "gf" else (x - m[0]) / s[0]).astype(np.float32)


def utterance_input(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str,
                    gf_input: str = "frames") -> np.ndarray:
    """Normalised model input for a whole utterance: gf `frames` (T, 14) features + differences, gf `study`
    (n_slices * 26, 21) splined steps + differences; gp/faces (3, T, H, W)."""
    x = normalised_lips(lips, kind, stats, speaker)
    if kind != "gf":
        return deltas(x)
    if check_gf_input(gf_input) == "study":
        return study_gf(x, study_steps(n_slices(len(x))))
    return np.concatenate([x, np.diff(x, axis=0, prepend=x[:1])], axis=1).astype(np.float32)


def word_input(lips: Mapping[str, np.ndarray], kind: str, stats: NormStats, speaker: str,
               gf_input: str = "frames") -> np.ndarray:
    """What word segments are cut from: the per-frame normalised GF (T, 7) for the study's GF input (each word
    is splined on its own), else the utterance input."""
    if kind == "gf" and check_gf_input(gf_input) == "study":
        return normalised_lips(lips, kind, stats, speaker)
    return utterance_input(lips, kind, stats, speaker, gf_input)


def augment(x: np.ndarray, kind: str, rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    """Published augmentation: per sample a horizontal flip, Gaussian noise (sigma 0.01) or nothing."""
    choice = rng.integers(3)
    if choice == 0:
        if kind == "gf":  # a mirrored mouth: centroid x and orientation (and their differences) change sign
            x = x.copy()
            cols = [c + N_GF * k for k in range(x.shape[-1] // N_GF) for c in FLIP_GF_COLUMNS]
            x[..., cols] *= -1
            return x
        return np.ascontiguousarray(x[..., ::-1])
    if choice == 1:
        return (x + rng.normal(0.0, noise, x.shape)).astype(np.float32)
    return x
