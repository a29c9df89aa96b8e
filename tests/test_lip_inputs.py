"""Lip inputs: invalid frames, per-speaker normalisation, augmentation, the study's GF input."""

import numpy as np
import pytest

from lip2speech.data import lip_inputs as LI, windows as W
from lip2speech.errors import Lip2SpeechError

from synthetic_lips import synthetic_lips


def test_fill_invalid_and_no_face():
    x = np.arange(5.0)[:, None]
    assert LI.fill_invalid(x, np.array([0, 1, 0, 0, 1], bool))[:, 0].tolist() == [1, 1, 1, 4, 4]
    with pytest.raises(Lip2SpeechError, match="no face"):
        LI.fill_invalid(x, np.zeros(5, bool))


def test_per_speaker_normalisation():
    rng = np.random.default_rng(0)
    items = [("a", synthetic_lips(rng)), ("a", synthetic_lips(rng)), ("b", synthetic_lips(rng, shift=5.0))]
    st = LI.compute_stats("gf", lambda: iter(items))
    x = LI.utterance_input(items[2][1], "gf", st, "b")
    assert x.shape == (75, 14) and abs(x[:, :7].mean()) < 0.3  # speaker b's offset removed
    gp = LI.compute_stats("gp", lambda: iter(items))
    m, s = gp.get("a")
    allgp = np.concatenate([items[0][1]["gp"], items[1][1]["gp"]])
    assert np.isclose(m[0], allgp.mean(), atol=1e-6) and np.isclose(s[0], allgp.std(), atol=1e-5)
    assert LI.utterance_input(items[0][1], "faces", LI.compute_stats("faces", lambda: iter(items)), "a").shape == (3, 75, 8, 8)
    # unseen speaker: normalised with its own statistics
    z = LI.utterance_input(synthetic_lips(rng, shift=100.0), "gf", st, "zz")
    assert abs(z[:, :7].mean()) < 1e-3
    assert LI.NormStats.from_dict(st.to_dict()).get("b")[0].tolist() == st.get("b")[0].tolist()


def test_augment_flip_noise_or_nothing():
    x = np.random.default_rng(0).random((3, 5, 4, 6)).astype(np.float32)
    seen = set()
    for seed in range(30):
        y = LI.augment(x, "gp", np.random.default_rng(seed))
        if np.array_equal(y, x):
            seen.add("none")
        elif np.array_equal(y, x[..., ::-1]):
            seen.add("flip")
        else:
            assert (y - x).std() == pytest.approx(0.01, rel=0.2)
            seen.add("noise")
    assert seen == {"none", "flip", "noise"}
    g = np.random.default_rng(0).random((5, 14)).astype(np.float32)
    flips = [LI.augment(g, "gf", np.random.default_rng(s)) for s in range(30)]
    assert any(np.array_equal(f[:, 3], -g[:, 3]) and np.array_equal(f[:, 0], g[:, 0]) for f in flips)


def test_study_gf_input_is_26_steps_of_21_values_per_slice():
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(0)
    lips = synthetic_lips(rng)
    st = LI.compute_stats("gf", lambda: iter([("a", lips)]))
    x = LI.utterance_input(lips, "gf", st, "a", gf_input="study")
    assert x.shape == (15 * 26, 21) and W.gf_width("study") == 21 and W.slice_steps("gf", "study") == 26
    norm = LI.normalised_lips(lips, "gf", st, "a")
    coords = W.study_steps(15)
    assert coords[0] == pytest.approx(0.5 * 5 / 26 - 0.5) and coords[-1] == pytest.approx(74 + 0.5 - 0.5 * 5 / 26)
    want = map_coordinates(norm[:, 2].astype(np.float64), coords[None], order=3, mode="nearest")
    assert np.allclose(x[:, 2], want, atol=1e-5)  # cubic spline over the whole utterance
    assert np.allclose(x[1:, 9], np.diff(x[:, 2]), atol=1e-6) and x[0, 9] == 0  # first differences
    assert np.allclose(x[1:, 16], np.diff(x[:, 9]), atol=1e-6)  # second differences
    w = W.cut_windows(x, "gf", 15, 1, W.slice_steps("gf", "study"))
    assert w.shape == (15, 26, 21) and np.array_equal(w[3], x[78:104])
    assert W.slice_steps("gp", "study") == 5 and LI.utterance_input(lips, "gf", st, "a").shape == (75, 14)
    with pytest.raises(Lip2SpeechError, match="unknown gf_input"):
        LI.utterance_input(lips, "gf", st, "a", gf_input="splines")


def test_flip_of_the_study_input_negates_centroid_x_and_orientation_in_every_block():
    g = np.random.default_rng(0).random((26, 21)).astype(np.float32)
    flips = [f for f in (LI.augment(g, "gf", np.random.default_rng(s)) for s in range(30))
             if not np.array_equal(f, g) and np.array_equal(f[:, 0], g[:, 0])]
    assert flips, "no flip drawn"
    f = flips[0]
    neg = [3, 6, 10, 13, 17, 20]
    assert np.array_equal(f[:, neg], -g[:, neg])
    keep = [c for c in range(21) if c not in neg]
    assert np.array_equal(f[:, keep], g[:, keep])  # the time order is kept (the study reversed it: a bug)


def test_the_face_size_a_model_reads_is_the_exact_inverse_of_its_mouth_region_size():
    from lip2speech.data.lip_inputs import model_face_size, mouth_size, reads_face_size

    assert mouth_size(64) == (32, 48) and mouth_size(128) == (64, 96)
    for side in range(24, 257):
        kwargs = dict(use_mouth=True, mouth_height=mouth_size(side)[0], mouth_width=mouth_size(side)[1])
        assert mouth_size(model_face_size(kwargs)) == mouth_size(side)  # 99 px (50 x 75) reads back as 99, not 100
        assert reads_face_size(kwargs, side)
    odd = dict(use_mouth=True, mouth_height=50, mouth_width=75)
    assert model_face_size(odd) == 99 and not reads_face_size(odd, 100) and reads_face_size({}, 100)


def test_reading_features_does_not_load_the_opencv_front_end():
    import subprocess
    import sys

    code = "import sys, lip2speech.data.features, lip2speech.data.lip_inputs; print('cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
