"""prepare: per-utterance cache + manifest from a (synthetic) corpus; resumable, sharded, failures listed."""

import json

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import parse_shard, prepare, synthetic_features
from lip2speech.data.store import check_features_config, item_path, load_item, load_manifest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from lip2speech.corpus.synth import synth_corpus

    out = tmp_path_factory.mktemp("corpus")
    synth_corpus(out, speakers=2, utterances=2, seed=0, jobs=1, show_progress=False)
    return out


def test_parse_shard():
    assert parse_shard(None) == (1, 1) and parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "x", "1-2"):
        with pytest.raises(Lip2SpeechError, match="--shard"):
            parse_shard(bad)


@pytest.mark.slow
def test_prepare_sharded_resumable_with_failures(corpus, tmp_path):
    out = tmp_path / "feats"
    r1 = prepare(corpus, out, jobs=1, shard="1/2", show_progress=False)
    r2 = prepare(corpus, out, jobs=1, shard="2/2", show_progress=False)
    assert len(r1.written) == 2 and len(r2.written) == 2 and not set(r1.written) & set(r2.written)
    man = load_manifest(out)
    assert sorted(man) == sorted(r1.written + r2.written) and {e["speaker"] for e in man.values()} == {"s1", "s2"}
    key = sorted(man)[0]
    item = load_item(out, key)
    n = man[key]["aud_frames"]
    assert item["aud"].shape == (n, 128) and item["aud"].dtype == np.float32 and item["aud"].max() > 0
    assert item["lips"]["gf"].shape == (man[key]["frames"], 7) and item["lips"]["gp"].shape[1:] == (40, 80)
    assert item["lips"]["fps"] == pytest.approx(25.0) and item["lips"]["valid"].any()
    assert len(item["words"]) == 6 and item["word_times"] and item["speaker"] == key.split("/")[0]
    assert abs(n - man[key]["frames"] / 25 * 125) <= 2  # 8 ms frames cover the video
    # resumable: nothing to redo; a broken item is redone; a missing video is listed as a failure
    again = prepare(corpus, out, jobs=1, show_progress=False)
    assert len(again.skipped) == 4 and not again.written
    item_path(out, key).write_bytes(b"broken")
    redo = prepare(corpus, out, jobs=1, show_progress=False)
    assert redo.written == [key]
    victim, other = sorted((corpus / "s2" / "video").iterdir())[:2]
    backup, other_backup = victim.read_bytes(), other.read_bytes()
    victim.write_bytes(b"not a video")
    from lip2speech.video.io import read_video, write_video

    frames = read_video(other).frames  # the same length, but noise where the face was: no face in any frame
    write_video(other, np.random.default_rng(0).integers(0, 256, frames.shape, dtype=np.uint8), 25.0)
    try:
        item_path(out, f"s2/{victim.stem}").unlink()
        item_path(out, f"s2/{other.stem}").unlink()
        bad = prepare(corpus, out, jobs=1, show_progress=False)
        assert len(bad.failures) == 2 and not bad.written and len(bad.skipped) == 2  # the others are kept
        assert any(victim.stem in f for f in bad.failures)
        assert any(other.stem in f and "no face" in f for f in bad.failures)
        assert sorted(load_manifest(out)) == sorted(set(man) - {f"s2/{victim.stem}", f"s2/{other.stem}"})
    finally:
        victim.write_bytes(backup)
        other.write_bytes(other_backup)


def test_foreign_features_folder(tmp_path):
    synthetic_features(tmp_path, speakers=1, utterances=1, frames=10)
    check_features_config(tmp_path)
    cfg = json.loads((tmp_path / "features.json").read_text())
    (tmp_path / "features.json").write_text(json.dumps({**cfg, "fs": 22050}))  # not a supported rate
    with pytest.raises(Lip2SpeechError, match="another configuration.*fs"):
        load_manifest(tmp_path)
    with pytest.raises(Lip2SpeechError, match="another configuration"):
        prepare(tmp_path, tmp_path, show_progress=False)
    (tmp_path / "features.json").write_text(json.dumps({**cfg, "fs": 16000}))  # 16 kHz: valid, but not 8 kHz
    assert check_features_config(tmp_path)["fs"] == 16000
    with pytest.raises(Lip2SpeechError, match="another configuration.*fs"):
        prepare(tmp_path, tmp_path, show_progress=False, fs=8000)
    with pytest.raises(Lip2SpeechError, match="not a features folder"):
        load_manifest(tmp_path / "none")
    with pytest.raises(Lip2SpeechError, match="no prepared item"):
        load_item(tmp_path, "s9/x")


@pytest.mark.slow
def test_cli_prepare_one_speaker(corpus, tmp_path):
    from typer.testing import CliRunner

    from lip2speech.cli import app

    res = CliRunner().invoke(app, ["prepare", str(corpus), "--out", str(tmp_path / "f"), "--speakers", "s1",
                                   "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "2 prepared, 0 already done, 0 failed" in res.output
    assert {e["speaker"] for e in load_manifest(tmp_path / "f").values()} == {"s1"}


@pytest.mark.slow
def test_prepare_reuses_the_tracks_of_lip2speech_lips(corpus, tmp_path):
    from lip2speech.lips.track import LipTrack, extract_folder

    tracks = tmp_path / "tracks"
    video = sorted((corpus / "s1" / "video").iterdir())[0]
    extract_folder([video], tracks, jobs=1, show_progress=False, root=corpus)  # as `lip2speech lips CORPUS --out`
    track_file = tracks / video.relative_to(corpus).with_suffix(".npz")
    track = LipTrack.load(track_file)
    track.gf[:] += 1000.0  # marked, to see that prepare read this file and did not extract the video again
    track.save(track_file)
    report = prepare(corpus, tmp_path / "feats", speakers=["s1"], jobs=1, show_progress=False, lips_dir=tracks)
    key = f"s1/{video.stem}"
    assert report.reused_tracks == [key] and len(report.written) == 2 and "1 from existing lip tracks" in report.summary()
    assert np.array_equal(load_item(tmp_path / "feats", key)["lips"]["gf"], track.gf)
    other = next(k for k in report.written if k != key)
    assert load_item(tmp_path / "feats", other)["lips"]["gf"].max() < 1000


@pytest.mark.slow
def test_prepare_keeps_the_items_of_another_corpus_in_the_same_folder(corpus, tmp_path):
    out = tmp_path / "feats"
    first = prepare(corpus, out, speakers=["s1"], jobs=1, show_progress=False)
    second = prepare(corpus, out, speakers=["s2"], jobs=1, show_progress=False)
    assert sorted(load_manifest(out)) == sorted(first.written + second.written) and len(load_manifest(out)) == 4


@pytest.mark.slow
def test_prepare_face_size_and_one_size_per_folder(corpus, tmp_path):
    from typer.testing import CliRunner

    from lip2speech.cli import app
    from lip2speech.lips.crop_size import FACE_SIZE
    from lip2speech.lips.track import LipTrack, extract_folder, load_track_for

    out = tmp_path / "feats"
    res = CliRunner().invoke(app, ["prepare", str(corpus), "--out", str(out), "--speakers", "s1", "--jobs", "1",
                                   "--face-size", "96"])
    assert res.exit_code == 0, res.output
    key = sorted(load_manifest(out))[0]
    faces = load_item(out, key)["lips"]["faces"]
    assert faces.shape[1:] == (96, 96) and faces.dtype == np.uint8 and faces.std() > 0
    with pytest.raises(Lip2SpeechError, match="holds 96 px face crops, not 64"):
        prepare(corpus, out, speakers=["s2"], jobs=1, show_progress=False)
    # a lips file of the default size is not taken for a folder of larger crops
    video = sorted((corpus / "s1" / "video").iterdir())[0]
    extract_folder([video], tmp_path / "tracks", jobs=1, show_progress=False, root=corpus)
    track_file = tmp_path / "tracks" / video.relative_to(corpus).with_suffix(".npz")
    assert LipTrack.load(track_file).faces.shape[1] == FACE_SIZE
    with pytest.raises(Lip2SpeechError, match="face_size=64.*--face-size 96"):
        load_track_for(track_file, None, 96)
    # --face-size: px, or the size a model reads (what its speak accepts); bad values are one-line errors
    from lip2speech.cli.options import parse_face_size
    from lip2speech.inference import load_run
    from lip2speech.training.shipped import resolve_run

    assert parse_face_size(None) == FACE_SIZE and parse_face_size(" 96 ") == 96
    assert parse_face_size("grid-s1") == load_run(resolve_run("grid-s1")).face_size
    for bad, why in (("8", "outside 16..512"), ("no-such-model", "a side in px or a model")):
        with pytest.raises(Lip2SpeechError, match=why):
            parse_face_size(bad)
