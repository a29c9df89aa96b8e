"""The streaming datasets: windows and words over a bounded cache of utterances."""

import numpy as np

from lip2speech.data import datasets as DS, lip_inputs as LI, splits as SP

from synthetic_lips import synthetic_lips


def test_window_dataset_streams_with_bounded_cache():
    rng = np.random.default_rng(0)
    store = {f"s1/u{i}": {"aud": rng.random((375, 128)).astype(np.float32), "lips": synthetic_lips(rng), "speaker": "s1"}
             for i in range(6)}
    loads = []
    load = lambda k: loads.append(k) or store[k]  # noqa: E731
    st = LI.compute_stats("gf", lambda: ((v["speaker"], v["lips"]) for v in store.values()))
    ds = DS.WindowDataset(list(store), {k: 75 for k in store}, load, "gf", st, 1, augment=True, cache_size=2)
    assert len(ds) == 6 * 15
    x, y = ds[0]
    assert tuple(x.shape) == (5, 14) and tuple(y.shape) == (26, 128)
    sampler = DS.BlockShuffleSampler(ds.groups, block=2, seed=0, dataset=ds)
    order = list(sampler)
    assert sorted(order) == list(range(len(ds)))
    sampler.set_epoch(1)
    assert list(sampler) != order and ds.epoch == 1
    loads.clear()
    for i in order:
        ds[i]
    assert len(ds.cache._d) <= 2 and len(loads) <= 6 + 1  # each utterance loaded about once per epoch
    shuffled = DS.WindowDataset(list(store), {k: 75 for k in store}, load, "gf", st, 1,
                               lips_from=SP.derangement(list(store), 0))
    assert not np.allclose(shuffled[0][0].numpy(), DS.WindowDataset(list(store), {k: 75 for k in store}, load, "gf",
                                                                   st, 1)[0][0].numpy())
    assert all(a != b for a, b in SP.derangement(list(store), 0).items())


def test_word_dataset_skips_utterances_without_alignments():
    rng = np.random.default_rng(0)
    wt = (("sil", 0.0, 0.2), ("bin", 0.2, 0.6), ("blue", 0.6, 1.0), ("sil", 1.0, 3.0))
    store = {f"s1/u{i}": {"aud": rng.random((375, 128)).astype(np.float32), "lips": synthetic_lips(rng), "speaker": "s1",
                          "word_times": wt if i else None} for i in range(3)}
    st = LI.compute_stats("gp", lambda: ((v["speaker"], v["lips"]) for v in store.values()))
    ds = DS.WordDataset(list(store), store.__getitem__, "gp", st, 1, augment=True)
    assert ds.skipped == ["s1/u0"] and ds.keys == ["s1/u1", "s1/u2"] and len(ds) == 2 * 2 * 2
    x, y = ds[3]
    assert tuple(x.shape) == (3, 5, 4, 6) and tuple(y.shape) == (26, 128)
    assert ds.groups == [[0, 1, 2, 3], [4, 5, 6, 7]]
