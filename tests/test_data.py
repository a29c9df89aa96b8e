"""Windowing, interpolation, normalisation, splits and the streaming datasets."""

import numpy as np
import pytest

from lip2speech import data as D
from lip2speech.errors import Lip2SpeechError
from lip2speech.timebase import frame_times


def test_slice_grid_matches_the_study():
    aud = np.random.default_rng(0).random((375, 128)).astype(np.float32)
    sl = D.spec_to_slices(aud, fps=25, n_sl=D.n_slices(75))
    assert D.n_slices(75) == 15 and sl.shape == (390, 128)
    back = D.slices_to_spec(sl, 375, fps=25)
    assert back.shape == (375, 128)
    smooth = np.repeat(np.linspace(0, 1, 375)[:, None], 128, 1)
    rt = D.slices_to_spec(D.spec_to_slices(smooth, 25, 15), 375, 25)
    assert np.abs(rt - smooth).max() < 1e-3  # linear signals survive the round trip


def test_interp_matrix_rows_sum_to_one_and_hold_edges():
    w = D.interp_matrix(np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.5, 1.5, 5.0]))
    assert np.allclose(w.sum(1), 1)
    assert np.allclose(w @ np.array([0.0, 10.0, 20.0]), [0, 5, 15, 20])


def test_windows_and_overlap_average():
    x = np.arange(75 * 14, dtype=np.float32).reshape(75, 14)
    gf = D.cut_windows(x, "gf", 15, 1)
    assert gf.shape == (15, 5, 14) and np.array_equal(gf[3], x[15:20])
    l2a = D.cut_windows(np.zeros((3, 75, 8, 8)), "faces", 15, 2)
    assert l2a.shape == (14, 3, 10, 8, 8)  # 400 ms windows, 200 ms hop
    sl = np.random.default_rng(1).random((390, 32))
    tw = D.target_windows(sl, 15, 2)
    assert tw.shape == (14, 52, 32)
    assert np.allclose(D.overlap_average(tw, 15, 2), sl, atol=1e-6)  # consistent windows average to the truth


def test_compression_round_trip_and_legacy_bug():
    a = np.array([0.0, 0.5, 2.0])
    assert np.allclose(D.decompress(D.compress(a)), a)
    assert not np.allclose(D.decompress(D.compress(a), legacy=True), a)


def test_fill_invalid_and_no_face():
    x = np.arange(5.0)[:, None]
    assert D.fill_invalid(x, np.array([0, 1, 0, 0, 1], bool))[:, 0].tolist() == [1, 1, 1, 4, 4]
    with pytest.raises(Lip2SpeechError, match="no face"):
        D.fill_invalid(x, np.zeros(5, bool))


def test_deltas_channels():
    x = np.arange(4.0)[:, None] ** 2
    d = D.deltas(x)
    assert d.shape == (3, 4, 1)
    assert d[1, :, 0].tolist() == [0, 1, 3, 5] and d[2, :, 0].tolist() == [0, 1, 2, 2]


def _lips(rng, n=75, shift=0.0):
    return {"gf": (rng.random((n, 7)) + shift).astype(np.float32), "gp": rng.random((n, 4, 6)).astype(np.float32),
            "faces": rng.integers(0, 255, (n, 8, 8)).astype(np.uint8), "valid": np.ones(n, bool), "fps": 25.0}


def test_per_speaker_normalisation():
    rng = np.random.default_rng(0)
    items = [("a", _lips(rng)), ("a", _lips(rng)), ("b", _lips(rng, shift=5.0))]
    st = D.compute_stats("gf", lambda: iter(items))
    x = D.utterance_input(items[2][1], "gf", st, "b")
    assert x.shape == (75, 14) and abs(x[:, :7].mean()) < 0.3  # speaker b's offset removed
    gp = D.compute_stats("gp", lambda: iter(items))
    m, s = gp.get("a")
    allgp = np.concatenate([items[0][1]["gp"], items[1][1]["gp"]])
    assert np.isclose(m[0], allgp.mean(), atol=1e-6) and np.isclose(s[0], allgp.std(), atol=1e-5)
    assert D.utterance_input(items[0][1], "faces", D.compute_stats("faces", lambda: iter(items)), "a").shape == (3, 75, 8, 8)
    # unseen speaker: normalised with its own statistics
    z = D.utterance_input(_lips(rng, shift=100.0), "gf", st, "zz")
    assert abs(z[:, :7].mean()) < 1e-3
    assert D.NormStats.from_dict(st.to_dict()).get("b")[0].tolist() == st.get("b")[0].tolist()


def test_augment_flip_noise_or_nothing():
    x = np.random.default_rng(0).random((3, 5, 4, 6)).astype(np.float32)
    seen = set()
    for seed in range(30):
        y = D.augment(x, "gp", np.random.default_rng(seed))
        if np.array_equal(y, x):
            seen.add("none")
        elif np.array_equal(y, x[..., ::-1]):
            seen.add("flip")
        else:
            assert (y - x).std() == pytest.approx(0.01, rel=0.2)
            seen.add("noise")
    assert seen == {"none", "flip", "noise"}
    g = np.random.default_rng(0).random((5, 14)).astype(np.float32)
    flips = [D.augment(g, "gf", np.random.default_rng(s)) for s in range(30)]
    assert any(np.array_equal(f[:, 3], -g[:, 3]) and np.array_equal(f[:, 0], g[:, 0]) for f in flips)


def test_split_seen_and_unseen_speakers():
    keys = [f"s{s}/u{i:03d}" for s in (1, 2, 3) for i in range(50)]
    sp = D.split_keys(keys, 0.2, 0.1, seed=0)
    assert sp == D.split_keys(list(reversed(keys)), 0.2, 0.1, seed=0)  # deterministic, order-free
    assert sp != D.split_keys(keys, 0.2, 0.1, seed=1)
    for s in ("s1", "s2", "s3"):
        assert sum(k.startswith(s + "/") for k in sp["test"]) == 10  # 80/20 per speaker
    assert set(sp["train"]) | set(sp["val"]) | set(sp["test"]) == set(keys)
    assert not set(sp["train"]) & set(sp["test"]) and not set(sp["val"]) & set(sp["test"])
    un = D.split_keys(keys, test_speakers=("s3",))
    assert {k.split("/")[0] for k in un["test"]} == {"s3"} and len(un["test"]) == 50
    assert not any(k.startswith("s3/") for k in un["train"] + un["val"])


def test_word_segments_and_windows():
    wt = [("sil", 0.0, 0.5), ("bin", 0.5, 0.8), ("sp", 0.8, 0.85), ("blue", 0.85, 1.2)]
    segs = D.word_segments(wt, 25, 75)
    assert [s[0] for s in segs] == ["bin", "blue"] and segs[0][1:] == (12, 20)
    x = np.random.default_rng(0).random((75, 14)).astype(np.float32)
    aud = np.random.default_rng(1).random((375, 128)).astype(np.float32)
    lips, spec = D.word_window(x, aud, "gf", 25, segs[0])
    assert lips.shape == (10, 14) and spec.shape == (52, 128)
    assert np.allclose(lips[0], x[12]) and np.allclose(lips[-1], x[19])
    lg, _ = D.word_window(np.zeros((3, 75, 4, 6), np.float32), aud, "gp", 25, segs[1])
    assert lg.shape == (3, 10, 4, 6)


def test_window_dataset_streams_with_bounded_cache():
    rng = np.random.default_rng(0)
    store = {f"s1/u{i}": {"aud": rng.random((375, 128)).astype(np.float32), "lips": _lips(rng), "speaker": "s1"}
             for i in range(6)}
    loads = []
    load = lambda k: loads.append(k) or store[k]  # noqa: E731
    st = D.compute_stats("gf", lambda: ((v["speaker"], v["lips"]) for v in store.values()))
    ds = D.WindowDataset(list(store), {k: 75 for k in store}, load, "gf", st, 1, augment=True, cache_size=2)
    assert len(ds) == 6 * 15
    x, y = ds[0]
    assert tuple(x.shape) == (5, 14) and tuple(y.shape) == (26, 128)
    sampler = D.BlockShuffleSampler(ds.groups, block=2, seed=0, dataset=ds)
    order = list(sampler)
    assert sorted(order) == list(range(len(ds)))
    sampler.set_epoch(1)
    assert list(sampler) != order and ds.epoch == 1
    loads.clear()
    for i in order:
        ds[i]
    assert len(ds.cache._d) <= 2 and len(loads) <= 6 + 1  # each utterance loaded about once per epoch
    shuffled = D.WindowDataset(list(store), {k: 75 for k in store}, load, "gf", st, 1,
                               lips_from=D.derangement(list(store), 0))
    assert not np.allclose(shuffled[0][0].numpy(), D.WindowDataset(list(store), {k: 75 for k in store}, load, "gf",
                                                                   st, 1)[0][0].numpy())
    assert all(a != b for a, b in D.derangement(list(store), 0).items())


def test_word_samples_come_from_the_word_span():
    fps, n_aud = 25.0, 375
    segs = D.word_segments([("sil", 0.0, 0.6), ("bin", 0.6, 1.0), ("sp", 1.0, 1.1), ("lay", 1.1, 1.5)], fps, 75)
    assert [s[1:] for s in segs] == [(15, 25), (27, 38)]
    x = np.repeat(np.arange(75, dtype=np.float32)[:, None], 14, 1)  # lip input = its own frame index
    times = frame_times(n_aud)
    aud = np.repeat(times[:, None], 128, 1).astype(np.float32)  # spectrogram = its own time (s)
    for ws in (1, 2):  # GF2S/GP2S: 2 one-slice windows per word; Lip2AudSpec: one 2-slice window
        xs, ys = D.word_samples(x, aud, "gf", fps, segs, ws)
        per_word = D.SLICES_PER_WORD - ws + 1
        assert xs.shape == (2 * per_word, 5 * ws, 14) and ys.shape == (2 * per_word, 26 * ws, 128)
        for j, (_, a, b) in enumerate(segs):
            lips = xs[j * per_word:(j + 1) * per_word, :, 0].ravel()
            spec = D.decompress(ys[j * per_word:(j + 1) * per_word, :, 0].ravel())
            assert lips.min() == pytest.approx(a) and lips.max() == pytest.approx(b - 1)
            assert np.all(np.diff(lips) >= 0) and np.all(np.diff(spec) > 0)
            assert a / fps <= spec.min() < a / fps + 0.01 and b / fps - 0.01 < spec.max() <= b / fps
    frames = D.word_frames(segs[0], fps, n_aud)
    assert frames[0] == 75 and frames[-1] == 124  # 8 ms frames centred in [0.6, 1.0) s


def test_word_dataset_skips_utterances_without_alignments():
    rng = np.random.default_rng(0)
    wt = (("sil", 0.0, 0.2), ("bin", 0.2, 0.6), ("blue", 0.6, 1.0), ("sil", 1.0, 3.0))
    store = {f"s1/u{i}": {"aud": rng.random((375, 128)).astype(np.float32), "lips": _lips(rng), "speaker": "s1",
                          "word_times": wt if i else None} for i in range(3)}
    st = D.compute_stats("gp", lambda: ((v["speaker"], v["lips"]) for v in store.values()))
    ds = D.WordDataset(list(store), store.__getitem__, "gp", st, 1, augment=True)
    assert ds.skipped == ["s1/u0"] and ds.keys == ["s1/u1", "s1/u2"] and len(ds) == 2 * 2 * 2
    x, y = ds[3]
    assert tuple(x.shape) == (3, 5, 4, 6) and tuple(y.shape) == (26, 128)
    assert ds.groups == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_study_gf_input_is_26_steps_of_21_values_per_slice():
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(0)
    lips = _lips(rng)
    st = D.compute_stats("gf", lambda: iter([("a", lips)]))
    x = D.utterance_input(lips, "gf", st, "a", gf_input="study")
    assert x.shape == (15 * 26, 21) and D.gf_width("study") == 21 and D.slice_steps("gf", "study") == 26
    norm = D.normalised_lips(lips, "gf", st, "a")
    coords = D.study_steps(15)
    assert coords[0] == pytest.approx(0.5 * 5 / 26 - 0.5) and coords[-1] == pytest.approx(74 + 0.5 - 0.5 * 5 / 26)
    want = map_coordinates(norm[:, 2].astype(np.float64), coords[None], order=3, mode="nearest")
    assert np.allclose(x[:, 2], want, atol=1e-5)  # cubic spline over the whole utterance
    assert np.allclose(x[1:, 9], np.diff(x[:, 2]), atol=1e-6) and x[0, 9] == 0  # first differences
    assert np.allclose(x[1:, 16], np.diff(x[:, 9]), atol=1e-6)  # second differences
    w = D.cut_windows(x, "gf", 15, 1, D.slice_steps("gf", "study"))
    assert w.shape == (15, 26, 21) and np.array_equal(w[3], x[78:104])
    assert D.slice_steps("gp", "study") == 5 and D.utterance_input(lips, "gf", st, "a").shape == (75, 14)
    with pytest.raises(Lip2SpeechError, match="unknown gf_input"):
        D.utterance_input(lips, "gf", st, "a", gf_input="splines")


def test_flip_of_the_study_input_negates_centroid_x_and_orientation_in_every_block():
    g = np.random.default_rng(0).random((26, 21)).astype(np.float32)
    flips = [f for f in (D.augment(g, "gf", np.random.default_rng(s)) for s in range(30))
             if not np.array_equal(f, g) and np.array_equal(f[:, 0], g[:, 0])]
    assert flips, "no flip drawn"
    f = flips[0]
    neg = [3, 6, 10, 13, 17, 20]
    assert np.array_equal(f[:, neg], -g[:, neg])
    keep = [c for c in range(21) if c not in neg]
    assert np.array_equal(f[:, keep], g[:, keep])  # the time order is kept (the study reversed it: a bug)


def test_study_words_are_splined_to_52_steps():
    x = np.repeat(np.arange(75, dtype=np.float32)[:, None], 7, 1)  # normalised GF = frame index
    aud = np.random.default_rng(1).random((375, 128)).astype(np.float32)
    segs = D.word_segments([("sil", 0.0, 0.6), ("bin", 0.6, 1.0)], 25.0, 75)
    xs, ys = D.word_samples(x, aud, "gf", 25.0, segs, 1, gf_input="study")
    assert xs.shape == (2, 26, 21) and ys.shape == (2, 26, 128)
    steps = xs[:, :, 0].ravel()
    assert steps[0] == pytest.approx(15) and steps[-1] == pytest.approx(24)  # the word's frames [15, 25)
    assert np.allclose(xs[0, 1:, 7], np.diff(xs[0, :, 0]), atol=1e-5)


def test_study_split_protocol():
    keys = [f"s1/u{i}" for i in range(120)] + [f"s2/v{i}" for i in range(10)]
    sp = D.split_keys(keys, protocol="study")
    s1 = sorted((k for k in keys if k.startswith("s1/")), key=lambda k: int(k[4:]))  # natural file order
    assert [k for k in sp["train"] if k.startswith("s1/")] == s1[:80]
    assert [k for k in sp["test"] if k.startswith("s1/")] == s1[80:100]
    assert [k for k in sp["val"] if k.startswith("s1/")] == s1[80:90]  # validation is part of test
    s2 = [f"s2/v{i}" for i in range(10)]
    assert [k for k in sp["train"] if k.startswith("s2/")] == s2[:8]
    assert [k for k in sp["test"] if k.startswith("s2/")] == s2[8:] and "s2/v8" in sp["val"]
    assert sp == D.split_keys(list(reversed(keys)), 0.5, 0.5, seed=3, protocol="study")
    with pytest.raises(Lip2SpeechError, match="unseen-speaker"):
        D.split_keys(keys, test_speakers=("s2",), protocol="study")
    with pytest.raises(Lip2SpeechError, match="unknown split protocol"):
        D.split_keys(keys, protocol="theirs")
