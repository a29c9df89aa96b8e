"""Read audio from WAV/FLAC files or any video's audio track: mono, resampled, zero mean / unit variance."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import Lip2SpeechError
from ..media import check_file, decode_stream, open_container

# Formats libsndfile reads directly; anything else goes through PyAV (FFmpeg).
_SNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au"}


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample a 1-D signal from fs_in to fs_out Hz with a polyphase Kaiser-windowed anti-alias FIR."""
    x = np.asarray(x, dtype=np.float64)
    if fs_in <= 0 or fs_out <= 0:
        raise Lip2SpeechError(f"sample rates must be positive, got {fs_in} -> {fs_out} Hz")
    if fs_in == fs_out:
        return x
    from scipy.signal import resample_poly  # here: importing scipy.signal takes ~2 s, speak never needs it

    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, window=("kaiser", 8.0))


def resample_exact(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """Resample between integer rates (Hz) by their exact ratio with scipy's default polyphase filter."""
    if int(fs_in) == int(fs_out):
        return np.asarray(x)
    from scipy.signal import resample_poly

    g = math.gcd(int(fs_in), int(fs_out))
    return resample_poly(x, int(fs_out) // g, int(fs_in) // g)


def playback_level(x: np.ndarray) -> np.ndarray:
    """float32 audio at listening level: peak-normalised to 0.9 full scale (silence stays silence); the one rule
    for every WAV, video soundtrack and report player lip2speech writes."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (0.9 / peak) if peak > 0 else x).astype(np.float32)


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
    container = open_container(path, "media")
    try:
        if not container.streams.audio:
            raise Lip2SpeechError("file has no audio track", path)
        stream = container.streams.audio[0]
        rates = [float(stream.rate or stream.codec_context.sample_rate)]

        def mono(frame) -> np.ndarray:
            a = frame.to_ndarray().astype(np.float64)
            rates.append(float(frame.sample_rate or rates[-1]))
            if frame.format.is_planar:  # (channels, samples)
                return a.mean(axis=0)
            return a.reshape(-1, len(frame.layout.channels)).mean(axis=1)  # interleaved: (1, samples*channels)

        chunks = decode_stream(container, stream, mono, path, "audio")
    finally:
        container.close()
    return np.concatenate(chunks), rates[-1]


def read_audio(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode `path` (audio file or video) to a mono float64 signal (channels averaged) and its rate in Hz."""
    path = Path(path)
    check_file(path, "audio/video file")
    if path.suffix.lower() in _SNDFILE_SUFFIXES:
        try:
            return _read_sndfile(path)
        except Lip2SpeechError:
            pass  # e.g. a WAV with a codec libsndfile lacks: let FFmpeg try
    return _read_av(path)


def load_audio(path: str | Path, fs: int = 8000) -> np.ndarray:
    """Load a WAV/audio file or a video's audio track as mono at `fs` Hz, zero mean and unit variance (float64)."""
    x, fs_in = read_audio(path)
    return normalise(resample(x, fs_in, fs), path)
