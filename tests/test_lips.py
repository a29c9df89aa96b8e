"""extract_lips on the real GRID clips and on generated bad inputs; LipTrack files; the `lips` command."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from lip2speech.cli import app
from lip2speech.errors import Lip2SpeechError
from lip2speech.lips.gabor import GF_NAMES
from lip2speech.lips.track import LipTrack, extract_folder, extract_lips, lip_track, load_track_for
from lip2speech.video import Video, read_video, write_video
from lips_reference import full_detection, grey_frames


@pytest.fixture(scope="module")
def clip(grid_dir):
    return grid_dir / "bbaf2n.mpg"


@pytest.fixture(scope="module")
def track(clip):
    return extract_lips(clip)


def test_extract_real_clip(track):
    t = len(track)
    assert 74 <= t <= 75 and track.fps == pytest.approx(25.0)
    assert track.valid.all()
    assert track.landmarks.shape == (t, 68, 2) and track.landmarks.dtype == np.float32
    assert track.mouth_boxes.shape == (t, 4) and track.mouth_boxes.dtype == np.int32
    assert track.gp.shape == (t, 40, 80) and track.gp.dtype == np.float32 and (track.gp >= 0).all()
    assert track.gf.shape == (t, len(GF_NAMES)) and np.isfinite(track.gf).all()
    assert track.faces.shape == (t, 64, 64) and track.faces.dtype == np.uint8
    # the mouth box lies on the lower face, around the mouth corners
    x0, y0, x1, y1 = track.mouth_boxes.T
    assert ((x0 < track.landmarks[:, 48, 0]) & (track.landmarks[:, 54, 0] < x1)).all()
    assert ((y0 < track.landmarks[:, 57, 1]) & (track.landmarks[:, 57, 1] < y1)).all()
    # the lips move: the features and the GP change over the utterance
    assert (track.gf[:, :3].std(0) > 0).all() and track.gp.std(0).mean() > 0.1 * track.gp.mean()


def test_save_load_round_trip_is_exact(track, tmp_path):
    path = tmp_path / "lips.npz"
    track.save(path)
    back = LipTrack.load(path)
    for name in ("landmarks", "mouth_boxes", "gp", "gf", "faces", "valid"):
        a, b = getattr(track, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert back.fps == track.fps and back.settings == track.settings
    assert [p.name for p in tmp_path.iterdir()] == ["lips.npz"]  # written atomically, nothing left over


def test_a_track_records_its_front_end_and_only_default_ones_stand_in_for_a_video(track, clip, tmp_path):
    assert track.settings["legacy"] is False and track.settings["face_size"] == 64
    track.save(tmp_path / "default.npz")
    assert np.array_equal(load_track_for(tmp_path / "default.npz").gp, track.gp)
    extract_lips(clip, legacy=True).save(tmp_path / "legacy.npz")
    with pytest.raises(Lip2SpeechError, match=r"legacy\.npz.*other front-end options \(legacy=True\)"):
        load_track_for(tmp_path / "legacy.npz")
    old = LipTrack(**{**{k: getattr(track, k) for k in ("landmarks", "mouth_boxes", "gp", "gf", "faces", "valid")},
                      "fps": track.fps})  # as written before tracks recorded their options
    old.save(tmp_path / "old.npz")
    with pytest.raises(Lip2SpeechError, match="does not record its front-end options"):
        load_track_for(tmp_path / "old.npz")


def test_load_rejects_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(Lip2SpeechError, match="not found"):
        LipTrack.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip file" * 10)
    with pytest.raises(Lip2SpeechError, match="not a readable .npz"):
        LipTrack.load(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(Lip2SpeechError, match="not a lip2speech lips file") as err:
        LipTrack.load(foreign)
    assert "foreign.npz" in str(err.value)


def test_legacy_reproduces_jpeg_truncation(clip, track):
    legacy = extract_lips(clip, legacy=True)
    # GP read back from an 8-bit JPEG: integer grey levels before resizing, far fewer distinct values
    assert len(np.unique(legacy.gp)) < 0.5 * len(np.unique(track.gp))
    assert not np.allclose(legacy.gf, track.gf)


def _noise_video(path, n=30):
    rng = np.random.default_rng(0)
    write_video(path, rng.integers(0, 256, (n, 96, 128, 3), dtype=np.uint8), 25.0)
    return path


def test_bad_inputs_give_clear_messages(tmp_path, clip):
    cases = {
        _noise_video(tmp_path / "noface.mp4"): "no face found in any frame",
        tmp_path / "empty.mpg": "empty",
        tmp_path / "corrupt.mp4": "unreadable video",
    }
    (tmp_path / "empty.mpg").write_bytes(b"")
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    one = tmp_path / "one_frame.mp4"
    write_video(one, read_video(clip).frames[:1], 25.0)
    cases[one] = "only 1 frame"
    for path, message in cases.items():
        with pytest.raises(Lip2SpeechError) as err:
            extract_lips(path)
        text = str(err.value)
        assert message in text and path.name in text and "\n" not in text, text


def test_too_long_video_is_refused_before_decoding(clip):
    with pytest.raises(Lip2SpeechError, match="too long") as err:
        extract_lips(clip, max_gib=0.001)
    assert clip.name in str(err.value)


def test_decoded_video_input_gives_the_same_track(clip, track):
    video = read_video(clip)  # colour frames in memory
    from_video = extract_lips(Video(video.frames, video.fps))
    # grey from RGB (OpenCV) differs slightly from the decoder's grey: same track within a fraction of a pixel
    assert np.linalg.norm(from_video.landmarks - track.landmarks, axis=-1).mean() < 0.5
    assert from_video.valid.all()


def test_mouth_width_puts_any_resolution_on_one_scale(clip, track):
    import cv2

    video = read_video(clip, grey=True)
    big = np.stack([cv2.resize(f, None, fx=2.0, fy=2.0) for f in video.frames])  # 720x576 footage
    width = float(np.median(track.mouth_boxes[:, 2] - track.mouth_boxes[:, 0]))
    native = extract_lips(Video(big, video.fps))
    scaled = extract_lips(Video(big, video.fps), mouth_width=width)
    def corr(a, i):
        return np.corrcoef(a.gf[:, i], track.gf[:, i])[0, 1]

    # in video px the fixed-size Gabor kernel sees another mouth: the features lose their meaning
    assert corr(native, 0) < 0.5
    # resampled to the original mouth width they come back: same means, same time course
    ratio = scaled.gf.mean(0)[:6] / track.gf.mean(0)[:6]
    assert np.all(np.abs(ratio - 1) < 0.1), ratio
    assert min(corr(scaled, 0), corr(scaled, 3), corr(scaled, 4)) > 0.8


def test_cli_single_video_with_preview(clip, tmp_path):
    out, preview = tmp_path / "lips.npz", tmp_path / "preview.mp4"
    result = CliRunner().invoke(app, ["lips", str(clip), "--out", str(out), "--preview", str(preview)])
    assert result.exit_code == 0, result.output
    assert "face on 75" in result.output
    assert len(LipTrack.load(out)) == 75
    shown = read_video(preview)
    assert len(shown.frames) == 75 and shown.frames.shape[2] > 360  # frame + GP/feature panel


def test_cli_folder_skips_and_reports_bad_videos(clip, tmp_path):
    src = tmp_path / "videos"
    (src / "s1").mkdir(parents=True)
    (src / "s1" / clip.name).symlink_to(clip)
    (src / "s1" / "empty.mpg").write_bytes(b"")
    (src / "garbage.avi").write_bytes(b"this is not a video" * 100)
    _noise_video(src / "noface.mov", n=4)
    out = tmp_path / "lips"
    result = CliRunner().invoke(app, ["lips", str(src), "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 1, result.output
    assert "extracted 1 of 4 videos" in result.output and "3 failed" in result.output
    for name in ("empty.mpg", "garbage.avi", "noface.mov"):
        assert name in result.output
    assert (out / "s1" / "bbaf2n.npz").is_file() and len(list(out.rglob("*.npz"))) == 1


def test_folder_list_keeps_speaker_folders_apart(clip, tmp_path):
    for speaker in ("s1", "s2"):  # GRID sentence names repeat across speakers
        (tmp_path / speaker).mkdir()
        (tmp_path / speaker / clip.name).symlink_to(clip)
    videos = [tmp_path / "s1" / clip.name, tmp_path / "s2" / clip.name]
    report = extract_folder(videos, tmp_path / "out", jobs=1, show_progress=False)
    assert not report.failures
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in report.results) == [
        "s1/bbaf2n.npz", "s2/bbaf2n.npz"]
    stamps = [p.stat().st_mtime_ns for p in report.results]
    again = extract_folder(videos, tmp_path / "out", jobs=1, show_progress=False)  # resumes: outputs kept
    assert again.results == report.results and [p.stat().st_mtime_ns for p in again.results] == stamps


@pytest.mark.slow
def test_features_agree_with_per_frame_full_detection(grid_dir):
    """GF from tracked landmarks vs GF from dlib detection on every frame, pooled over the six clips' frames.

    Both go through the same `lip_track`. The features threshold and pick a region, so they are discontinuous
    in the landmarks; the stabilised mouth box and centre and the near-tie rule of the region choice must
    keep every feature's correlation with per-frame full detection >= 0.95 (the two full detectors,
    upsampling 0 and 1, are printed for comparison).
    """
    tracked, ref0, ref1 = [], [], []
    for path in sorted(grid_dir.glob("*.mpg")):
        frames = grey_frames(path)
        ok = np.ones(len(frames), bool)
        tracked.append(extract_lips(Video(frames, 25.0)).gf)
        ref0.append(lip_track(frames, full_detection(path, 0), ok, 25.0).gf)
        ref1.append(lip_track(frames, full_detection(path, 1), ok, 25.0).gf)
    tracked, ref0, ref1 = (np.concatenate(x) for x in (tracked, ref0, ref1))
    assert len(tracked) >= 444
    low = []
    for i, name in enumerate(GF_NAMES):
        r_track = np.corrcoef(tracked[:, i], ref0[:, i])[0, 1]
        r_detectors = np.corrcoef(ref1[:, i], ref0[:, i])[0, 1]
        print(f"{name:15s} tracked vs full detection r={r_track:.3f}   two full detectors r={r_detectors:.3f}")
        if not r_track >= 0.95:
            low.append(f"{name} r={r_track:.3f}")
    assert not low, low
