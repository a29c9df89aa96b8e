"""Shared fixtures: the reference data in ../shared/data (skipped with a clear message when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not found at {path} (expected ../shared/data beside the project)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def grid_dir() -> Path:
    """Folder with the six real GRID clips."""
    return _require(SHARED_DATA / "grid")


@pytest.fixture(scope="session")
def nsl_dir() -> Path:
    """Folder with the NSL reference spectrograms and filter table."""
    return _require(SHARED_DATA / "nsl")
