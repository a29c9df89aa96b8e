"""Synthetic GRID-like corpus: layout, determinism, dlib-visible lip motion, intelligible speech, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lip2speech.corpus.grammar import WORDS, sentence_from_name
from lip2speech.corpus.synth import (
    ALIGN_UNITS, ClipPlan, draw_sentences, format_align, generate_utterance, make_speakers, synth_corpus,
)
from lip2speech.errors import Lip2SpeechError
from lip2speech.video.io import read_video, video_info

N_SPK, N_UTT = 2, 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A 2-speaker x 10-utterance synthetic corpus, generated once for this module."""
    out = tmp_path_factory.mktemp("synth") / "c"
    report = synth_corpus(out, N_SPK, N_UTT, seed=1, jobs=2, show_progress=False)
    assert report.failures == []
    return out


def _uids(root: Path) -> list[tuple[str, str]]:
    return sorted((p.parts[-3], p.stem) for p in root.glob("s*/video/*.mp4"))


def test_sentences_cover_all_words_and_are_distinct():
    sentences = draw_sentences(4, 50, seed=0)
    assert [len(s) for s in sentences] == [50] * 4
    used = {w for spk in sentences for sent in spk for w in sent}
    assert used == set(WORDS)
    for spk in sentences:
        assert len(set(spk)) == len(spk)
    assert draw_sentences(4, 50, seed=0) == sentences
    assert draw_sentences(4, 50, seed=1) != sentences


def test_speakers_have_distinct_voices_and_looks():
    spk = make_speakers(4, seed=0)
    assert [s.name for s in spk] == ["s1", "s2", "s3", "s4"]
    assert len({s.voice.variant for s in spk}) == 4
    assert len({s.appearance for s in spk}) == 4
    assert make_speakers(4, seed=0) == spk


def test_format_align_grid_style():
    text = format_align([("bin", 0.5, 0.8), ("blue", 0.8, 1.1), ("at", 1.2, 1.3)], 3.0)
    rows = [line.split() for line in text.splitlines()]
    assert rows[0] == ["0", "12500", "sil"]
    assert [r[2] for r in rows] == ["sil", "bin", "blue", "sp", "at", "sil"]
    assert rows[-1][1] == str(3 * ALIGN_UNITS)
    for a, b in zip(rows, rows[1:]):
        assert a[1] == b[0]


@pytest.mark.slow
def test_layout_media_and_alignments(corpus: Path):
    uids = _uids(corpus)
    assert len(uids) == N_SPK * N_UTT
    assert {s for s, _ in uids} == {"s1", "s2"}
    for spk, uid in uids:
        info = video_info(corpus / spk / "video" / f"{uid}.mp4")
        assert (info.width, info.height, info.fps, info.n_frames) == (360, 288, 25.0, 75)
        assert info.has_audio
        wav, fs = sf.read(corpus / "audio" / spk / f"{uid}.wav")
        assert fs == 16000 and abs(len(wav) / fs - 3.0) < 1e-3
        rows = [line.split() for line in (corpus / "alignments" / spk / f"{uid}.align").read_text().splitlines()]
        assert rows[0][2] == "sil" and rows[-1][2] == "sil"
        assert int(rows[-1][1]) == 75000
        words = [r[2] for r in rows if r[2] not in ("sil", "sp")]
        assert tuple(words) == sentence_from_name(uid)
        # Silence at the ends is really quiet, and the words carry the energy.
        first, last = int(rows[1][0]) * fs // ALIGN_UNITS, int(rows[-1][0]) * fs // ALIGN_UNITS
        assert first > 0.2 * fs
        assert np.abs(wav[:first]).max() < 0.05 * np.abs(wav[first:last]).max()
        truth = np.load(corpus / "truth" / spk / f"{uid}.npz")
        for key in ("opening", "width", "rounding"):
            assert truth[key].shape == (75,) and truth[key].dtype == np.float32
        assert truth["landmarks"].shape == (75, 68, 2)
        # Lips are closed before speech starts and open during it.
        assert truth["opening"][:3].max() < 1.0
        assert truth["opening"].max() > 0.12 * truth["width"].mean()
    assert (corpus / "synth.json").is_file()


@pytest.mark.slow
def test_dlib_sees_the_face_and_the_lip_opening(corpus: Path):
    from lip2speech.video.landmarks import detect_faces, fit_landmarks, to_grey

    measured, truth, frames_seen, frames_found = [], [], 0, 0
    for spk, uid in _uids(corpus)[::3]:  # 7 clips, both speakers
        frames = read_video(corpus / spk / "video" / f"{uid}.mp4").frames
        opening = np.load(corpus / "truth" / spk / f"{uid}.npz")["opening"]
        for frame, gt in zip(frames, opening):
            frames_seen += 1
            grey = to_grey(frame)
            faces = detect_faces(grey, upsample=0)  # dlib HOG frontal face detector
            if not len(faces):
                continue
            frames_found += 1
            pts = fit_landmarks(grey, faces[0])  # dlib 68-point model (face_recognition_models)
            measured.append(np.linalg.norm(pts[66] - pts[62]))
            truth.append(gt)
    assert frames_found / frames_seen >= 0.95
    assert np.corrcoef(measured, truth)[0, 1] >= 0.8


@pytest.mark.slow
def test_speech_is_intelligible(corpus: Path):
    from lip2speech.evaluation.asr import recognise_grid, word_accuracy

    accuracies = []
    for spk, uid in _uids(corpus):
        wav, fs = sf.read(corpus / "audio" / spk / f"{uid}.wav")
        accuracies.append(word_accuracy(list(sentence_from_name(uid)), recognise_grid(wav, fs)))
    assert len(accuracies) == 20
    assert np.mean(accuracies) >= 0.7


@pytest.mark.slow
def test_generation_is_deterministic(corpus: Path, tmp_path: Path):
    spk = make_speakers(N_SPK, seed=1)[1]
    words = sentence_from_name(_uids(corpus)[-1][1])
    a = generate_utterance(ClipPlan(str(tmp_path / "a"), spk, words, seed=7))
    b = generate_utterance(ClipPlan(str(tmp_path / "b"), spk, words, seed=7))
    c = generate_utterance(ClipPlan(str(tmp_path / "c"), spk, words, seed=8))
    assert a == b == c
    name = a.split("/")
    wa, wb, wc = (sf.read(tmp_path / d / "audio" / name[0] / f"{name[1]}.wav")[0] for d in "abc")
    assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)
    ta, tb = (np.load(tmp_path / d / "truth" / name[0] / f"{name[1]}.npz") for d in "ab")
    for key in ta.files:
        assert np.array_equal(ta[key], tb[key])
    fa, fb = (read_video(tmp_path / d / name[0] / "video" / f"{name[1]}.mp4").frames for d in "ab")
    assert np.array_equal(fa, fb)


def test_refuses_non_empty_folder(tmp_path: Path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(Lip2SpeechError, match="--overwrite"):
        synth_corpus(tmp_path, 1, 1, show_progress=False)
    proc = subprocess.run([sys.executable, "-m", "lip2speech", "synth", str(tmp_path), "--n-speakers", "1",
                           "--utterances", "1"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--overwrite" in lines[0] and str(tmp_path) in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.slow
def test_overwrite_replaces_the_corpus_only(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "s9").mkdir()
    report = synth_corpus(tmp_path, 1, 1, seed=3, overwrite=True, show_progress=False)
    assert report.failures == [] and len(report.results) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "s9").exists()
    assert len(list(tmp_path.glob("s1/video/*.mp4"))) == 1


def test_speakers_may_have_their_own_utterance_counts():
    assert draw_sentences(3, [5, 5, 5], seed=0) == draw_sentences(3, 5, seed=0)
    sentences = draw_sentences(3, [4, 4, 30], seed=0)
    assert [len(s) for s in sentences] == [4, 4, 30] and len(set(sentences[2])) == 30
    with pytest.raises(Lip2SpeechError, match="2 utterance counts for 3 speakers"):
        synth_corpus(Path("unused"), 3, [4, 4])
