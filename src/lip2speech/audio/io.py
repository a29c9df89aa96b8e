"""Read audio from WAV/FLAC files or any video's audio track: mono, resampled, zero mean / unit variance."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..errors import Lip2SpeechError

# Formats libsndfile reads directly; anything else goes through PyAV (FFmpeg).
_SNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au"}


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample a 1-D signal from fs_in to fs_out Hz with a polyphase Kaiser-windowed anti-alias FIR."""
    x = np.asarray(x, dtype=np.float64)
    if fs_in <= 0 or fs_out <= 0:
        raise Lip2SpeechError(f"sample rates must be positive, got {fs_in} -> {fs_out} Hz")
    if fs_in == fs_out:
        return x
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, window=("kaiser", 8.0))


def normalise(x: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """Zero mean, unit variance (the NSL input convention); silent or non-finite signals are errors."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise Lip2SpeechError("audio is empty (0 samples)", path)
    if not np.all(np.isfinite(x)):
        raise Lip2SpeechError("audio contains NaN or infinite samples", path)
    x = x - x.mean()
    sd = x.std()
    if sd <= 1e-10 * max(1.0, float(np.max(np.abs(x)))) or sd == 0.0:
        raise Lip2SpeechError("audio is silent (constant signal)", path)
    return x / sd


def _read_sndfile(path: Path) -> tuple[np.ndarray, float]:
    import soundfile as sf

    try:
        data, fs = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise Lip2SpeechError(f"unreadable audio file ({type(exc).__name__}: {exc})", path) from None
    return data.mean(axis=1), float(fs)


def _read_av(path: Path) -> tuple[np.ndarray, float]:
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001
        raise Lip2SpeechError(f"unreadable media file ({type(exc).__name__}: {exc})", path) from None
    try:
        if not container.streams.audio:
            raise Lip2SpeechError("file has no audio track", path)
        stream = container.streams.audio[0]
        chunks: list[np.ndarray] = []
        fs = float(stream.rate or stream.codec_context.sample_rate)
        try:
            for frame in container.decode(stream):
                a = frame.to_ndarray().astype(np.float64)
                if frame.format.is_planar:  # (channels, samples)
                    chunks.append(a.mean(axis=0))
                else:  # interleaved: (1, samples*channels)
                    chunks.append(a.reshape(-1, len(frame.layout.channels)).mean(axis=1))
                fs = float(frame.sample_rate or fs)
        except Exception as exc:  # noqa: BLE001
            if not chunks:
                raise Lip2SpeechError(f"cannot decode audio ({type(exc).__name__}: {exc})", path) from None
    finally:
        container.close()
    if not chunks:
        raise Lip2SpeechError("audio track has no decodable samples", path)
    return np.concatenate(chunks), fs


def read_audio(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode `path` (audio file or video) to a mono float64 signal (channels averaged) and its rate in Hz."""
    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("audio/video file not found", path)
    if path.stat().st_size == 0:
        raise Lip2SpeechError("file is empty (0 bytes)", path)
    if path.suffix.lower() in _SNDFILE_SUFFIXES:
        try:
            return _read_sndfile(path)
        except Lip2SpeechError:
            pass  # e.g. a WAV with a codec libsndfile lacks: let FFmpeg try
    return _read_av(path)


def load_audio(path: str | Path, fs: int = 8000) -> np.ndarray:
    """Load a WAV/audio file or a video's audio track as mono at `fs` Hz, zero mean and unit variance (float64)."""
    x, fs_in = read_audio(path)
    if x.size == 0:
        raise Lip2SpeechError("audio is empty (0 samples)", path)
    if not np.all(np.isfinite(x)):
        raise Lip2SpeechError("audio contains NaN or infinite samples", path)
    return normalise(resample(x, fs_in, fs), path)
