"""GRID reader: layouts, alignments, problems, media checks and `lip2speech corpus info`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from lip2speech.cli import app
from lip2speech.cli import main
from lip2speech.corpus import read_align, scan_corpus, sentence_from_name
from lip2speech.errors import Lip2SpeechError

GRID_CLIPS = ("bbaf2n", "brbk7n", "lbax4n", "lwbsza", "pwij3p", "sbwe5n")


def _touch(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _align_text(words, start: int = 20000, step: int = 7000, end_unit: int = 74500) -> str:
    """A GRID-style alignment: sil, the words (with one sp), sil; times in 1/25000 s."""
    lines = [f"0 {start} sil"]
    t = start
    for i, w in enumerate(words):
        lines.append(f"{t} {t + step} {w}")
        t += step
        if i == 2:
            lines.append(f"{t} {t + 500} sp")
            t += 500
    lines.append(f"{t} {end_unit} sil")
    return "\n".join(lines) + "\n"


def _align(path: Path, uid: str, **kw) -> Path:
    return _touch(path, _align_text(sentence_from_name(uid), **kw).encode())


# ---- alignments ----------------------------------------------------------------------------------


def test_read_align_converts_units_and_keeps_silences(tmp_path):
    path = _align(tmp_path / "bbaf2n.align", "bbaf2n")
    entries = read_align(path)
    labels = [e[0] for e in entries]
    assert labels == ["sil", "bin", "blue", "at", "sp", "f", "two", "now", "sil"]
    assert entries[0] == ("sil", 0.0, pytest.approx(0.8))  # 20000 / 25000
    assert entries[1][1:] == (pytest.approx(0.8), pytest.approx(1.08))
    assert entries[-1][2] == pytest.approx(2.98)
    assert all(a[2] <= b[1] + 1e-9 for a, b in zip(entries, entries[1:]))


@pytest.mark.parametrize("text, fragment", [
    ("0 100 sil\n100 abc bin\n", "line 2"),
    ("0 100 sil\n100 200\n", "line 2"),
    ("0 100 sil\n300 200 bin\n", "line 2: bad times"),
    ("0 500 sil\n100 600 bin\n", "line 2: starts before"),
    ("\n\n", "no entries"),
])
def test_read_align_bad_lines_give_one_line_errors(tmp_path, text, fragment):
    path = _touch(tmp_path / "bad.align", text.encode())
    with pytest.raises(Lip2SpeechError) as err:
        read_align(path)
    assert fragment in str(err.value) and "bad.align" in str(err.value) and "\n" not in str(err.value)


# ---- real GRID clips -----------------------------------------------------------------------------


def test_real_grid_flat_folder_is_one_speaker(grid_dir):
    scan = scan_corpus(grid_dir, check_media=True)
    assert scan.problems == []
    assert [u.uid for u in scan.utterances] == list(GRID_CLIPS)
    assert scan.speakers == [grid_dir.resolve().name]
    u = scan.utterances[0]
    assert u.words == ("bin", "blue", "at", "f", "two", "now")
    assert u.key == f"{grid_dir.resolve().name}/bbaf2n"
    assert u.audio is None and u.audio_source == u.video == grid_dir / "bbaf2n.mpg"
    assert u.align is None and u.word_times is None
    # GRID clips are 3 s (74-75 frames at 25 fps)
    assert all(2.9 <= d <= 3.05 for d in scan.durations.values()) and len(scan.durations) == 6
    assert scan.total_duration == pytest.approx(sum(scan.durations.values()))


def test_corpus_info_on_real_grid(grid_dir):
    result = CliRunner().invoke(app, ["corpus", "info", str(grid_dir), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "utterances: 6, total duration 17.9 s" in result.output
    assert "no problems found" in result.output


# ---- generated layouts ---------------------------------------------------------------------------


def test_mixed_layouts_find_video_audio_and_alignments(tmp_path):
    root = tmp_path / "grid"
    # s1: everything in the speaker folder, alignments in s1/align/
    _touch(root / "s1" / "bbaf2n.mpg"), _touch(root / "s1" / "bbaf2n.wav")
    _align(root / "s1" / "align" / "bbaf2n.align", "bbaf2n")
    # s2: s2/video/, s2/audio/, align/s2/
    _touch(root / "s2" / "video" / "lbax4n.mpg"), _touch(root / "s2" / "audio" / "lbax4n.wav")
    _align(root / "align" / "s2" / "lbax4n.align", "lbax4n")
    # s3: GRID download layout s3/video/mpg_6000/, audio_25k/s3/, alignments/s3/
    _touch(root / "s3" / "video" / "mpg_6000" / "pwij3p.mpg"), _touch(root / "audio_25k" / "s3" / "pwij3p.wav")
    _align(root / "alignments" / "s3" / "pwij3p.align", "pwij3p")
    # s12: the synthetic corpus layout (truth/ is ignored)
    _touch(root / "s12" / "video" / "sbwe5n.mp4"), _touch(root / "audio" / "s12" / "sbwe5n.wav")
    _align(root / "alignments" / "s12" / "sbwe5n.align", "sbwe5n")
    _touch(root / "truth" / "s12" / "sbwe5n.npz")
    # s4: audio from the video's own track, no alignment
    _touch(root / "s4" / "lwbsza.avi")

    scan = scan_corpus(root)
    assert scan.problems == []
    assert [u.key for u in scan.utterances] == ["s1/bbaf2n", "s12/sbwe5n", "s2/lbax4n", "s3/pwij3p", "s4/lwbsza"]
    assert scan.speakers == ["s1", "s2", "s3", "s4", "s12"]
    by = {u.key: u for u in scan.utterances}
    assert by["s1/bbaf2n"].audio == root / "s1" / "bbaf2n.wav"
    assert by["s2/lbax4n"].audio == root / "s2" / "audio" / "lbax4n.wav"
    assert by["s3/pwij3p"].video == root / "s3" / "video" / "mpg_6000" / "pwij3p.mpg"
    assert by["s3/pwij3p"].audio == root / "audio_25k" / "s3" / "pwij3p.wav"
    assert by["s12/sbwe5n"].align == root / "alignments" / "s12" / "sbwe5n.align"
    assert by["s2/lbax4n"].align == root / "align" / "s2" / "lbax4n.align"
    assert by["s4/lwbsza"].audio is None and by["s4/lwbsza"].audio_source == root / "s4" / "lwbsza.avi"
    for u in scan.utterances:
        assert u.words == sentence_from_name(u.uid)
        if u.speaker != "s4":
            assert tuple(w for w, _, _ in u.word_times) == u.words  # sil/sp dropped
            assert u.word_times[0][1] == pytest.approx(0.8)
    assert [u.key for u in scan_corpus(root, speakers=["s3", "s1"]).utterances] == ["s1/bbaf2n", "s3/pwij3p"]


def test_root_that_is_one_speaker(tmp_path):
    spk = tmp_path / "s7"
    _touch(spk / "video" / "bbaf2n.mpg"), _touch(spk / "brbk7n.mpg")
    _align(spk / "align" / "bbaf2n.align", "bbaf2n")
    _align(tmp_path / "s7" / "align" / "brbk7n.align", "brbk7n")
    scan = scan_corpus(spk)
    assert [u.key for u in scan.utterances] == ["s7/bbaf2n", "s7/brbk7n"]
    assert all(u.word_times is not None for u in scan.utterances)
    assert scan.problems == []


def test_problems_are_reported_one_line_each(tmp_path):
    root = tmp_path / "grid"
    _touch(root / "s1" / "bbaf2n.mpg"), _touch(root / "s1" / "bbaf2n.wav")
    _touch(root / "s1" / "brbk7n.mpg")                               # no WAV unlike its neighbour
    _touch(root / "s1" / "hello1.mpg")                               # not a GRID name
    _touch(root / "s1" / "video" / "bbaf2n.mp4")                     # duplicate video
    _touch(root / "s1" / "lbax4n.mpg"), _touch(root / "s1" / "lbax4n.wav")
    _align(root / "s1" / "align" / "lbax4n.align", "bbaf2n")         # words of another sentence
    _touch(root / "s1" / "pwij3p.mpg"), _touch(root / "s1" / "pwij3p.wav")
    _touch(root / "s1" / "align" / "pwij3p.align", b"0 100 sil\nnonsense\n")
    _touch(root / "audio" / "s21" / "bbaf2n.wav")                    # speaker without videos
    _align(root / "s1" / "align" / "sbwe5n.align", "sbwe5n")         # alignment without video

    scan = scan_corpus(root)
    assert [u.uid for u in scan.utterances] == ["bbaf2n", "brbk7n", "lbax4n", "pwij3p"]
    by = {u.uid: u for u in scan.utterances}
    assert by["lbax4n"].align is None and by["pwij3p"].word_times is None
    assert by["bbaf2n"].video == root / "s1" / "bbaf2n.mpg"
    problems = scan.problems
    assert all("\n" not in p for p in problems)
    expected = {
        "s1/hello1.mpg": "not a GRID sentence name",
        "s1/video/bbaf2n.mp4": "duplicate video",
        "s1/align/lbax4n.align": "disagree with the file name",
        "s1/align/pwij3p.align": "line 2",
        "s1/brbk7n.mpg": "no WAV",
        "audio/s21": "no videos of speaker s21",
        "s1/align: 1 alignment": "without a video",
    }
    for where, what in expected.items():
        hits = [p for p in problems if p.startswith(where) and what in p]
        assert len(hits) == 1, (where, what, problems)
    assert len(problems) == len(expected)

    with_missing = scan_corpus(root, speakers=["s1", "s9"])
    assert any("speaker s9 not found" in p for p in with_missing.problems)
    with pytest.raises(Lip2SpeechError, match="none of the speakers"):
        scan_corpus(root, speakers=["s9"])


def test_swapped_alignment_folders_are_detected_and_used_for_the_right_speaker(tmp_path):
    # The public GRID download has alignment folders named after the wrong speaker.
    root = tmp_path / "grid"
    names = {"s1": [f"bba{c}2n" for c in "abcdef"], "s2": [f"lgi{c}5s" for c in "abcdef"]}
    for spk, other in (("s1", "s2"), ("s2", "s1")):
        for uid in names[spk]:
            _touch(root / spk / f"{uid}.mpg")
            _align(root / "alignments" / other / f"{uid}.align", uid)
    scan = scan_corpus(root)
    assert all(u.align is not None and u.align.parent.name != u.speaker for u in scan.utterances)
    assert len(scan.utterances) == 12 and len(scan.problems) == 2
    assert scan.problems[0].startswith("alignments/s1: holds the alignment files of s2, not s1 (6 of 6")
    only_s1 = scan_corpus(root, speakers=["s1"])
    assert [u.align.parent.name for u in only_s1.utterances] == ["s2"] * 6


@pytest.mark.parametrize("make", ["missing", "file", "empty", "no_grid_names"])
def test_bad_corpus_folder_is_one_clear_error(tmp_path, make):
    root = tmp_path / "corpus"
    if make == "file":
        _touch(root)
    elif make == "empty":
        root.mkdir()
    elif make == "no_grid_names":
        _touch(root / "s1" / "holiday.mp4")
    with pytest.raises(Lip2SpeechError) as err:
        scan_corpus(root)
    assert str(root) in str(err.value) and "\n" not in str(err.value)


def test_corpus_info_missing_folder_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["lip2speech", "corpus", "info", str(tmp_path / "nope")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error:") and "nope" in err and "not found" in err


# ---- media checks --------------------------------------------------------------------------------


def _wav(path: Path, seconds: float, fs: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * fs)) / fs
    sf.write(str(path), 0.1 * np.sin(2 * np.pi * 200 * t), fs)


def test_media_check_reports_corrupt_video_wrong_wav_and_missing_audio(tmp_path):
    from lip2speech.video import write_video

    root = tmp_path / "grid"
    frames = np.random.default_rng(0).integers(0, 255, (25, 16, 16, 3), dtype=np.uint8)  # 1 s at 25 fps
    tone = 0.1 * np.sin(2 * np.pi * 200 * np.arange(8000) / 8000)
    write_video(root / "s1" / "bbaf2n.mp4", frames, 25.0)                       # silent + good WAV
    _wav(root / "audio" / "s1" / "bbaf2n.wav", 1.0)
    _align(root / "alignments" / "s1" / "bbaf2n.align", "bbaf2n", start=2000, step=2000, end_unit=25000)
    write_video(root / "s1" / "brbk7n.mp4", frames, 25.0)                       # silent + WAV too short
    _wav(root / "audio" / "s1" / "brbk7n.wav", 0.5)
    write_video(root / "s1" / "lbax4n.mp4", frames, 25.0, audio=tone, audio_fs=8000)  # own audio track
    _align(root / "alignments" / "s1" / "lbax4n.align", "lbax4n")              # ends at 2.98 s > 1 s clip
    write_video(root / "s2" / "pwij3p.mp4", frames, 25.0)                       # silent, no WAV
    _touch(root / "s2" / "sbwe5n.mpg", b"not a video at all" * 100)             # corrupt
    _touch(root / "s2" / "lwbsza.mpg", b"")                                     # empty

    unchecked = scan_corpus(root)
    assert len(unchecked.utterances) == 6 and unchecked.durations == {}
    scan = scan_corpus(root, check_media=True, jobs=1)
    assert [u.key for u in scan.utterances] == ["s1/bbaf2n", "s1/brbk7n", "s1/lbax4n"]
    assert set(scan.durations) == {"s1/bbaf2n", "s1/brbk7n", "s1/lbax4n"}
    assert all(d == pytest.approx(1.0, abs=0.05) for d in scan.durations.values())
    expected = {
        "audio/s1/brbk7n.wav": "WAV lasts 0.50 s but the video 1.00 s",
        "alignments/s1/lbax4n.align": "after the clip's end",
        "s2/pwij3p.mp4": "missing audio",
        "s2/sbwe5n.mpg": "unreadable video",
        "s2/lwbsza.mpg": "empty",
    }
    problems = [p for p in scan.problems if "no WAV beside" not in p]  # s1/lbax4n uses its own track
    for where, what in expected.items():
        hits = [p for p in problems if p.startswith(where) and what in p]
        assert len(hits) == 1, (where, what, scan.problems)
    assert len(problems) == len(expected) and all("\n" not in p for p in scan.problems)

    result = CliRunner().invoke(app, ["corpus", "info", str(root), "-j", "1"])
    assert result.exit_code == 1, result.output  # clips were skipped
    lines = result.output.splitlines()
    assert "utterances: 3, total duration 3.0 s" in lines
    assert f"problems ({len(scan.problems)}):" in lines
    assert any(line.strip().startswith("s1 ") and "3 utterances" in line for line in lines)
