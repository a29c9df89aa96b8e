"""Real clips re-framed with ffmpeg (2x, 2.5x pillarboxed into 1280x720, boxed in 1280x720): speak with grid-s1
at its training mouth scale gives the original's STOI (within 0.03) and, on average, 5 of its 6 lip-read words."""

from __future__ import annotations

from pathlib import Path

import pytest

from lip2speech.evaluation.asr import edit_distance
from lip2speech.audio import load_audio
from lip2speech.lips.framing import REFRAMINGS, reframe
from lip2speech.inference import load_run
from lip2speech.evaluation.metrics import stoi
from lip2speech.inference.speak import reconstruct_clip

DEMO = Path(__file__).resolve().parents[1] / "src" / "lip2speech" / "demo_clips"


@pytest.fixture(scope="module")
def grid_s1():
    return load_run("grid-s1")


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["demo/bbaf5a", "shared/bgan6p"])  # both in grid-s1's held-out test split
def test_reframed_clip_speaks_like_the_original(clip, grid_s1, tmp_path, request):
    """The packaged clip needs no shared data; the other skips, saying so, without ../shared/data."""
    where, name = clip.split("/")
    if where == "demo":
        src = DEMO / f"{name}.mpg"
    else:
        src = request.getfixturevalue("shared_data") / "grid-s1" / "s1" / f"{name}.mpg"
        if not src.is_file():
            pytest.skip(f"reference clip not found at {src} (expected ../shared/data/grid-s1 beside the project)")
    assert f"s1/{name}" in grid_s1.test_keys
    ref = load_audio(src, fs=grid_s1.fs)
    results = {}
    for i, (framing, vf) in enumerate(REFRAMINGS.items()):
        video = reframe(src, tmp_path / f"{i}{'.mpg' if vf is None else '.mp4'}", vf)
        info = reconstruct_clip(grid_s1, video, tmp_path / f"{i}.wav")
        assert info["mouth_width"] == pytest.approx(73.0) and info["warning"] is None
        results[framing] = (stoi(ref, info["wave"], grid_s1.fs), info["words"])
    s0, w0 = results.pop("original")
    assert len(w0) == 6
    kept = [6 - edit_distance(w0, words) for _, words in results.values()]
    for framing, (s, words) in results.items():  # at video px, upscaled framings lose 0.03-0.10 on a clip
        # grid-s1 v3 over benchmarks/framing.py's 8 clips: within 0.002 on average, at most 0.038 on one clip
        assert abs(s - s0) <= 0.05, (framing, s, s0)
    assert sum(kept) / len(kept) >= 5, results
