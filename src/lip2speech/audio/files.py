"""File-level audio jobs behind the CLI: spectrogram of a file, resynthesis to WAV, spectrogram plots."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import atomic_path
from .filterbank import Filterbank, centre_frequencies, load_nsl_filters
from .inversion import invert_auditory_spectrogram
from .io import load_audio, playback_level
from .spectrogram import auditory_spectrogram

SPECTROGRAM_SUFFIXES = {".npy", ".npz"}


def _with_path(exc: Lip2SpeechError, path: str | Path) -> Lip2SpeechError:
    """The same error, naming `path` when it named no file."""
    return exc if exc.path is not None else Lip2SpeechError(str(exc), path)


@lru_cache(maxsize=4)
def filters_from(table: str | None) -> Filterbank | None:
    """The NSL table at `table`, or None (lip2speech's own bank)."""
    return None if table is None else load_nsl_filters(table)


def load_spectrogram(path: str | Path) -> np.ndarray:
    """Read a saved (N, 128) spectrogram from .npy, or the `aud` array of an .npz."""
    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("spectrogram file not found", path)
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            if "aud" not in data.files:
                raise Lip2SpeechError(f"no 'aud' array in .npz (has {', '.join(data.files)})", path)
            data = data["aud"]
    except Lip2SpeechError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy raises several types on bad files
        raise Lip2SpeechError(f"unreadable spectrogram file ({type(exc).__name__}: {exc})", path) from None
    if data.ndim != 2 or data.shape[1] != 128 or data.shape[0] < 1:
        raise Lip2SpeechError(f"spectrogram must have shape (frames, 128), got {data.shape}", path)
    return data


def write_wav(path: str | Path, x: np.ndarray, fs: int) -> None:
    """Write x as 16-bit PCM WAV at listening level (io.playback_level: peak 0.9 full scale)."""
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(str(tmp), playback_level(x), int(fs), subtype="PCM_16", format="WAV")


def plot_spectrogram(aud: np.ndarray, path: str | Path, fs: float = 8000, frame_ms: float = 8,
                     title: str | None = None) -> None:
    """Save an image of the spectrogram (shown as aud^0.3): time (s) across, channel centre frequency (Hz) up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cf = centre_frequencies(fs)
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.imshow(np.power(np.maximum(aud, 0), 0.3).T, origin="lower", aspect="auto", cmap="viridis",
              extent=(0, aud.shape[0] * frame_ms / 1000, -0.5, aud.shape[1] - 0.5))
    ticks = [k for k in range(0, 128, 24)]
    ax.set_yticks(ticks, [f"{cf[k]:.0f}" for k in ticks])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("centre frequency (Hz)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)


def audspec_file(src: str | Path, out: str | Path, plot: str | Path | None = None, fs: int = 8000,
                 nsl_table: str | None = None) -> tuple[int, int]:
    """Auditory spectrogram of an audio/video file saved as .npy (float32 (N, 128)); returns its shape."""
    try:
        aud = auditory_spectrogram(load_audio(src, fs), fs, filters=filters_from(nsl_table))
    except Lip2SpeechError as exc:
        raise _with_path(exc, src) from None
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, aud)
    if plot is not None:
        plot_spectrogram(aud, plot, fs, title=Path(src).name)
    return aud.shape


def resynth_file(src: str | Path, out: str | Path, fs: int = 8000, n_iter: int | None = None,
                 method: str = "lbfgs", seed: int = 0, nsl_table: str | None = None) -> float:
    """Resynthesise a WAV from a saved spectrogram (.npy/.npz) or from an audio/video file; returns seconds."""
    bank = filters_from(nsl_table)
    src = Path(src)
    try:
        if src.suffix.lower() in SPECTROGRAM_SUFFIXES:
            aud = load_spectrogram(src)
        else:
            aud = auditory_spectrogram(load_audio(src, fs), fs, filters=bank)
        x = invert_auditory_spectrogram(aud, fs, n_iter=n_iter, seed=seed, method=method, filters=bank)
    except Lip2SpeechError as exc:
        raise _with_path(exc, src) from None
    write_wav(out, x, fs)
    return len(x) / fs


def expand_inputs(inputs: list[Path], suffixes: set[str]) -> list[Path]:
    """Files given directly, plus the files with one of `suffixes` inside given folders (sorted)."""
    files: list[Path] = []
    for p in inputs:
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in suffixes)
        else:
            files.append(p)
    if not files:
        raise Lip2SpeechError("no input files found", inputs[0] if inputs else None)
    return files
