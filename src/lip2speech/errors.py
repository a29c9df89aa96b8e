"""The one exception type that the CLI turns into a clear one-line message."""

from __future__ import annotations

from pathlib import Path


class Lip2SpeechError(Exception):
    """A user-facing error: its message is one line naming the file and the problem."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.path}: {message}" if path is not None else message)
