"""Atomic file writes: never leave a half-written output behind."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_npz(path: str | Path, **arrays: Any) -> None:
    """Write a compressed .npz atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON (indented) atomically."""
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def check_writable(path: str | Path, folder: bool = False) -> None:
    """One-line error (Lip2SpeechError naming `path`) unless `path` can be written: a file (or, with `folder`, a
    folder) whose nearest existing ancestor is a folder that takes a new file. Creates nothing."""
    from .errors import Lip2SpeechError

    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise Lip2SpeechError("output folder is a file", path)
        if not folder and path.is_dir():
            raise Lip2SpeechError("output file is a folder", path)
    parent = path if folder and path.is_dir() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise Lip2SpeechError(f"cannot write here: {parent} is a file, not a folder", path)
    try:  # what permission bits say is not enough (root, read-only file systems): try a file
        fd, probe = tempfile.mkstemp(prefix=".lip2speech-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise Lip2SpeechError(f"cannot write in {parent}: {exc.strerror or exc}", path) from None
