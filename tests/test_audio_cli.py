"""CLI: lip2speech audspec / resynth on files, batches and bad input."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from lip2speech.cli import app

runner = CliRunner()


def _wav(path, seconds=0.5, fs=16000):
    t = np.arange(int(seconds * fs)) / fs
    sf.write(path, 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t), fs)
    return path


def test_audspec_and_resynth_roundtrip(tmp_path):
    src = _wav(tmp_path / "a.wav")
    res = runner.invoke(app, ["audspec", str(src), "--out", str(tmp_path / "a.npy"), "--plot", str(tmp_path / "a.png")])
    assert res.exit_code == 0, res.output
    aud = np.load(tmp_path / "a.npy")
    assert aud.shape == (63, 128) and aud.dtype == np.float32
    assert (tmp_path / "a.png").stat().st_size > 1000
    res = runner.invoke(app, ["resynth", str(tmp_path / "a.npy"), "--out", str(tmp_path / "b.wav"), "--invert-iters", "3"])
    assert res.exit_code == 0, res.output
    y, fs = sf.read(tmp_path / "b.wav")
    assert fs == 8000 and len(y) == 63 * 64 and 0.5 < np.max(np.abs(y)) <= 0.91


def test_batch_folder_with_a_bad_file(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    _wav(d / "one.wav")
    _wav(d / "two.wav")
    (d / "bad.wav").write_bytes(b"")
    res = runner.invoke(app, ["audspec", str(d), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["one.npy", "two.npy"]
    assert "bad.wav" in res.output


def test_bad_spectrogram_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    np.save(tmp_path / "wrong.npy", np.ones((10, 64), dtype=np.float32))
    proc = subprocess.run([sys.executable, "-m", "lip2speech", "resynth", str(tmp_path / "wrong.npy"),
                           "--out", str(tmp_path / "o.wav")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "wrong.npy" in proc.stderr and "(frames, 128)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.wav").exists()
