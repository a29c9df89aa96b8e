"""Every benchmark script (the commands behind the published tables) parses its options and prints its help."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_help(script):
    res = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "usage:" in res.stdout


@pytest.mark.parametrize("extra, message", [
    (["--levers", "mouth-hires-recognisability", "--recogniser", "r.pt"], "builds on arm 'mouth-hires'"),
    (["--levers", "mouth-hires,mouth-hires-recognisability"], "needs --recogniser"),
    (["--levers", "mouth-hires"], "need --features-hires"),
])
def test_levers_refuses_an_incomplete_arm_list_before_any_work(tmp_path, extra, message):
    script = SCRIPTS[0].parent / "levers.py"
    res = subprocess.run([sys.executable, str(script), "--corpus", str(tmp_path), "--more", str(tmp_path),
                          "--features", str(tmp_path / "f"), "--runs", str(tmp_path / "r"), "--no-base", *extra],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and message in res.stderr, res.stderr[-2000:]
    assert not (tmp_path / "f").exists() and not (tmp_path / "r").exists()
