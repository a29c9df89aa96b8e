"""Open audio/video files with PyAV and decode one stream, turning FFmpeg's failures into one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import Lip2SpeechError


def check_file(path: Path, what: str) -> None:
    """Raise a clear error if `path` (a `what`, e.g. "video file") is missing or has 0 bytes."""
    if not path.is_file():
        raise Lip2SpeechError(f"{what} not found", path)
    if path.stat().st_size == 0:
        raise Lip2SpeechError(f"{what} is empty (0 bytes)", path)


def open_container(path: Path, what: str) -> Any:
    """Open `path` with PyAV after `check_file`; unreadable files become 'unreadable <kind>' errors."""
    import av

    check_file(path, f"{what} file")
    try:
        return av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - av raises many error types for bad files
        raise Lip2SpeechError(f"unreadable {what} ({type(exc).__name__}: {exc})", path) from None


def decode_stream(container: Any, stream: Any, convert: Callable[[Any], np.ndarray], path: Path,
                  what: str) -> list[np.ndarray]:
    """`convert` every decoded frame of `stream`; a truncated file keeps what decoded, nothing decoded is an error."""
    out: list[np.ndarray] = []
    try:
        for frame in container.decode(stream):
            out.append(convert(frame))
    except Exception as exc:  # noqa: BLE001
        if not out:
            raise Lip2SpeechError(f"cannot decode {what} ({type(exc).__name__}: {exc})", path) from None
    if not out:
        raise Lip2SpeechError(f"{what} has no decodable data", path)
    return out
