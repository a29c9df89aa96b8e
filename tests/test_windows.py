"""Slices, interpolation, model windows, compression, word segments and the GF input layouts."""

import numpy as np
import pytest

from lip2speech.data import windows as W
from lip2speech.timebase import frame_times


def test_slice_grid_matches_the_study():
    aud = np.random.default_rng(0).random((375, 128)).astype(np.float32)
    sl = W.spec_to_slices(aud, fps=25, n_sl=W.n_slices(75))
    assert W.n_slices(75) == 15 and sl.shape == (390, 128)
    back = W.slices_to_spec(sl, 375, fps=25)
    assert back.shape == (375, 128)
    smooth = np.repeat(np.linspace(0, 1, 375)[:, None], 128, 1)
    rt = W.slices_to_spec(W.spec_to_slices(smooth, 25, 15), 375, 25)
    assert np.abs(rt - smooth).max() < 1e-3  # linear signals survive the round trip


def test_interp_matrix_rows_sum_to_one_and_hold_edges():
    w = W.interp_matrix(np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.5, 1.5, 5.0]))
    assert np.allclose(w.sum(1), 1)
    assert np.allclose(w @ np.array([0.0, 10.0, 20.0]), [0, 5, 15, 20])


def test_windows_and_overlap_average():
    x = np.arange(75 * 14, dtype=np.float32).reshape(75, 14)
    gf = W.cut_windows(x, "gf", 15, 1)
    assert gf.shape == (15, 5, 14) and np.array_equal(gf[3], x[15:20])
    l2a = W.cut_windows(np.zeros((3, 75, 8, 8)), "faces", 15, 2)
    assert l2a.shape == (14, 3, 10, 8, 8)  # 400 ms windows, 200 ms hop
    sl = np.random.default_rng(1).random((390, 32))
    tw = W.target_windows(sl, 15, 2)
    assert tw.shape == (14, 52, 32)
    assert np.allclose(W.overlap_average(tw, 15, 2), sl, atol=1e-6)  # consistent windows average to the truth


def test_compression_round_trip_and_legacy_bug():
    a = np.array([0.0, 0.5, 2.0])
    assert np.allclose(W.decompress(W.compress(a)), a)
    assert not np.allclose(W.decompress(W.compress(a), legacy=True), a)


def test_deltas_channels():
    x = np.arange(4.0)[:, None] ** 2
    d = W.deltas(x)
    assert d.shape == (3, 4, 1)
    assert d[1, :, 0].tolist() == [0, 1, 3, 5] and d[2, :, 0].tolist() == [0, 1, 2, 2]


def test_word_segments_and_windows():
    wt = [("sil", 0.0, 0.5), ("bin", 0.5, 0.8), ("sp", 0.8, 0.85), ("blue", 0.85, 1.2)]
    segs = W.word_segments(wt, 25, 75)
    assert [s[0] for s in segs] == ["bin", "blue"] and segs[0][1:] == (12, 20)
    x = np.random.default_rng(0).random((75, 14)).astype(np.float32)
    aud = np.random.default_rng(1).random((375, 128)).astype(np.float32)
    lips, spec = W.word_window(x, aud, "gf", 25, segs[0])
    assert lips.shape == (10, 14) and spec.shape == (52, 128)
    assert np.allclose(lips[0], x[12]) and np.allclose(lips[-1], x[19])
    lg, _ = W.word_window(np.zeros((3, 75, 4, 6), np.float32), aud, "gp", 25, segs[1])
    assert lg.shape == (3, 10, 4, 6)


def test_word_samples_come_from_the_word_span():
    fps, n_aud = 25.0, 375
    segs = W.word_segments([("sil", 0.0, 0.6), ("bin", 0.6, 1.0), ("sp", 1.0, 1.1), ("lay", 1.1, 1.5)], fps, 75)
    assert [s[1:] for s in segs] == [(15, 25), (27, 38)]
    x = np.repeat(np.arange(75, dtype=np.float32)[:, None], 14, 1)  # lip input = its own frame index
    times = frame_times(n_aud)
    aud = np.repeat(times[:, None], 128, 1).astype(np.float32)  # spectrogram = its own time (s)
    for ws in (1, 2):  # GF2S/GP2S: 2 one-slice windows per word; Lip2AudSpec: one 2-slice window
        xs, ys = W.word_samples(x, aud, "gf", fps, segs, ws)
        per_word = W.SLICES_PER_WORD - ws + 1
        assert xs.shape == (2 * per_word, 5 * ws, 14) and ys.shape == (2 * per_word, 26 * ws, 128)
        for j, (_, a, b) in enumerate(segs):
            lips = xs[j * per_word:(j + 1) * per_word, :, 0].ravel()
            spec = W.decompress(ys[j * per_word:(j + 1) * per_word, :, 0].ravel())
            assert lips.min() == pytest.approx(a) and lips.max() == pytest.approx(b - 1)
            assert np.all(np.diff(lips) >= 0) and np.all(np.diff(spec) > 0)
            assert a / fps <= spec.min() < a / fps + 0.01 and b / fps - 0.01 < spec.max() <= b / fps
    frames = W.word_frames(segs[0], fps, n_aud)
    assert frames[0] == 75 and frames[-1] == 124  # 8 ms frames centred in [0.6, 1.0) s


def test_study_words_are_splined_to_52_steps():
    x = np.repeat(np.arange(75, dtype=np.float32)[:, None], 7, 1)  # normalised GF = frame index
    aud = np.random.default_rng(1).random((375, 128)).astype(np.float32)
    segs = W.word_segments([("sil", 0.0, 0.6), ("bin", 0.6, 1.0)], 25.0, 75)
    xs, ys = W.word_samples(x, aud, "gf", 25.0, segs, 1, gf_input="study")
    assert xs.shape == (2, 26, 21) and ys.shape == (2, 26, 128)
    steps = xs[:, :, 0].ravel()
    assert steps[0] == pytest.approx(15) and steps[-1] == pytest.approx(24)  # the word's frames [15, 25)
    assert np.allclose(xs[0, 1:, 7], np.diff(xs[0, :, 0]), atol=1e-5)
