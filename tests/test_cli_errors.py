"""The command line on bad input: one `error:` line and exit 2, exit 1 when items were skipped, nothing
half-written; unwritable outputs are refused before any work."""

import shutil
import sys
from pathlib import Path
from unittest import mock

import pytest

from lip2speech.evaluation.metrics import mean_ci

CLIPS = Path(__file__).resolve().parents[1] / "src" / "lip2speech" / "demo_clips"


def cli(capsys, *args):
    """Run `lip2speech ARGS` in this process: (exit code, stdout, stderr)."""
    from lip2speech.cli import main

    with mock.patch.object(sys, "argv", ["lip2speech", *map(str, args)]):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def one_error(code, err, *words):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), (code, err)
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def blocker(tmp_path):
    """A file where a folder should be: every path below it is unwritable."""
    path = tmp_path / "file.mpg"
    path.write_bytes(b"x")
    return path


@pytest.fixture
def truncated(tmp_path):
    """A real GRID clip cut to its first 20 KB: 3 frames of a 3 s video."""
    path = tmp_path / "cut" / "bbaf5a.mpg"
    path.parent.mkdir()
    path.write_bytes((CLIPS / "bbaf5a.mpg").read_bytes()[:20_000])
    return path


def test_version(capsys):
    from lip2speech import __version__

    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"lip2speech {__version__}"


@pytest.mark.parametrize("args", [
    ["speak", "--model", "grid-s1", CLIPS / "bbaf5a.mpg", "--out", "{b}/x.wav"],
    ["speak", "--model", "grid-s1", CLIPS / "bbaf5a.mpg", "--out", "{t}/ok.wav", "--video", "{b}/x.mp4"],
    ["lips", CLIPS / "bbaf5a.mpg", "--out", "{b}/x.npz"],
    ["lips", CLIPS / "bbaf5a.mpg", "--out", "{t}/ok.npz", "--preview", "{b}/x.mp4"],
    ["prepare", CLIPS, "--out", "{b}/features"],
    ["synth", "{b}/corpus", "--n-speakers", "1", "--utterances", "1"],
    ["audspec", CLIPS / "bbaf5a.mpg", "--out", "{b}/x.npy"],
    ["resynth", CLIPS / "bbaf5a.mpg", "--out", "{b}/x.wav"],
    ["train", "--system", "gu2s", "--features", "{t}", "--out", "{b}/run"],
    ["experiment", "single", "--features", "{t}", "--out", "{b}/exp"],
    ["demo", "--out", "{b}/demo"],
], ids=["speak-out", "speak-video", "lips-out", "lips-preview", "prepare", "synth", "audspec", "resynth", "train",
        "experiment", "demo"])
def test_an_unwritable_output_is_one_line_before_any_work(capsys, tmp_path, blocker, args):
    args = [str(a).format(b=blocker, t=tmp_path) for a in args]
    before = sorted(tmp_path.rglob("*"))
    code, _, err = cli(capsys, *args)
    one_error(code, err, "file.mpg", "not a folder")
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, not even the outputs that were writable


def test_report_refuses_a_page_it_cannot_write(capsys, tmp_path):
    (tmp_path / "report.html").mkdir()
    code, _, err = cli(capsys, "report", tmp_path)
    one_error(code, err, "report.html", "is a folder")
    code, _, err = cli(capsys, "report", tmp_path / "missing")
    one_error(code, err, "missing", "not found")


def test_evaluate_refuses_an_output_folder_that_is_a_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid-s1-evaluations").write_text("x")
    code, _, err = cli(capsys, "evaluate", "grid-s1", "--features", tmp_path)
    one_error(code, err, "grid-s1-evaluations", "is a file")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["speak", "lips", "prepare", "corpus"])
def test_a_truncated_video_is_reported(capsys, tmp_path, truncated, command):
    out = tmp_path / "out"
    if command == "speak":
        args = ["speak", "--model", "grid-s1", truncated, "--out", out / "x.wav"]
    elif command == "lips":
        args = ["lips", truncated, "--out", out / "x.npz"]
    elif command == "prepare":
        (truncated.parent / "s1").mkdir()
        truncated.rename(truncated.parent / "s1" / truncated.name)
        args = ["prepare", truncated.parent, "--out", out]
    else:
        args = ["corpus", "info", truncated.parent]
    code, stdout, err = cli(capsys, *args)
    assert code != 0 and "bbaf5a.mpg" in stdout + err
    assert "0.1" in stdout + err and "1 s" in stdout + err  # its length, and the 1 s it needs
    assert not out.exists() or not any(p.is_file() and p.suffix in (".wav", ".npz") for p in out.rglob("*"))


@pytest.mark.slow
def test_speak_exits_1_when_some_clips_failed(capsys, tmp_path, truncated):
    noise = tmp_path / "noise.mpg"
    noise.write_bytes(b"not a video at all")
    videos = [CLIPS / "bbaf5a.mpg", truncated, CLIPS / "bbaszn.mpg", noise]
    code, out, err = cli(capsys, "speak", "--model", "grid-s1", *videos, "--out", tmp_path / "wavs",
                         "--invert-iters", "1")
    assert code == 1 and "2 failed" in out
    written = sorted(p.name for p in (tmp_path / "wavs").iterdir())  # names carry the folder when stems clash
    assert len(written) == 2 and written[0].endswith("bbaf5a.wav") and written[1].endswith("bbaszn.wav")


@pytest.mark.slow
def test_prepare_exits_1_when_some_items_failed_and_writes_nothing_for_a_missing_corpus(capsys, tmp_path,
                                                                                        truncated):
    corpus = tmp_path / "corpus" / "s1"
    corpus.mkdir(parents=True)
    shutil.copy(CLIPS / "bbaszn.mpg", corpus)
    shutil.copy(truncated, corpus / "bbaf5a.mpg")
    code, out, err = cli(capsys, "prepare", corpus.parent, "--out", tmp_path / "f", "--jobs", "1")
    assert code == 1 and "1 failed" in out and "bbaf5a" in err
    code, _, err = cli(capsys, "prepare", tmp_path / "nowhere", "--out", tmp_path / "g")
    one_error(code, err, "nowhere")
    assert not (tmp_path / "g").exists()


def test_corpus_info_on_unreadable_clips_and_lips_on_an_empty_folder_are_errors(capsys, tmp_path):
    bad = tmp_path / "grid" / "s1"
    bad.mkdir(parents=True)
    (bad / "bbaf2n.mpg").write_bytes(b"garbage")
    code, out, err = cli(capsys, "corpus", "info", tmp_path / "grid")
    one_error(code, err, "no usable utterance")
    assert "bbaf2n.mpg" in out
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "lips", tmp_path / "empty", "--out", tmp_path / "tracks")
    one_error(code, err, "no videos found")


def test_intervals_are_clipped_to_the_metric_range():
    wide = mean_ci([0.0, 1.0, 1.0], bounds=(0.0, 1.0))
    assert wide["ci_low"] == 0.0 and wide["ci_high"] == 1.0 and wide["mean"] == pytest.approx(2 / 3)
    assert mean_ci([0.0, 1.0, 1.0])["ci_high"] > 1.0
