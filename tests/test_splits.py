"""Train/validation/test splits: ours (seen and unseen speakers) and the study's protocol."""

import numpy as np
import pytest

from lip2speech.data import splits as SP
from lip2speech.errors import Lip2SpeechError


def test_split_seen_and_unseen_speakers():
    keys = [f"s{s}/u{i:03d}" for s in (1, 2, 3) for i in range(50)]
    sp = SP.split_keys(keys, 0.2, 0.1, seed=0)
    assert sp == SP.split_keys(list(reversed(keys)), 0.2, 0.1, seed=0)  # deterministic, order-free
    assert sp != SP.split_keys(keys, 0.2, 0.1, seed=1)
    for s in ("s1", "s2", "s3"):
        assert sum(k.startswith(s + "/") for k in sp["test"]) == 10  # 80/20 per speaker
    assert set(sp["train"]) | set(sp["val"]) | set(sp["test"]) == set(keys)
    assert not set(sp["train"]) & set(sp["test"]) and not set(sp["val"]) & set(sp["test"])
    un = SP.split_keys(keys, test_speakers=("s3",))
    assert {k.split("/")[0] for k in un["test"]} == {"s3"} and len(un["test"]) == 50
    assert not any(k.startswith("s3/") for k in un["train"] + un["val"])


def test_study_split_protocol():
    keys = [f"s1/u{i}" for i in range(120)] + [f"s2/v{i}" for i in range(10)]
    sp = SP.split_keys(keys, protocol="study")
    s1 = sorted((k for k in keys if k.startswith("s1/")), key=lambda k: int(k[4:]))  # natural file order
    assert [k for k in sp["train"] if k.startswith("s1/")] == s1[:80]
    assert [k for k in sp["test"] if k.startswith("s1/")] == s1[80:100]
    assert [k for k in sp["val"] if k.startswith("s1/")] == s1[80:90]  # validation is part of test
    s2 = [f"s2/v{i}" for i in range(10)]
    assert [k for k in sp["train"] if k.startswith("s2/")] == s2[:8]
    assert [k for k in sp["test"] if k.startswith("s2/")] == s2[8:] and "s2/v8" in sp["val"]
    assert sp == SP.split_keys(list(reversed(keys)), 0.5, 0.5, seed=3, protocol="study")
    with pytest.raises(Lip2SpeechError, match="unseen-speaker"):
        SP.split_keys(keys, test_speakers=("s2",), protocol="study")
    with pytest.raises(Lip2SpeechError, match="unknown split protocol"):
        SP.split_keys(keys, protocol="theirs")


def test_fixed_test_split_keeps_the_given_test_keys_and_draws_train_clips():
    from lip2speech.data.splits import fixed_test_split

    keys = [f"s1/k{i:03d}" for i in range(50)]
    test = keys[:10] + ["s1/absent"]
    split = fixed_test_split(keys, test, val_fraction=0.1, seed=3)
    assert split["test"] == keys[:10]
    assert not set(split["train"]) & set(test) and not set(split["val"]) & set(test)
    assert len(split["train"]) + len(split["val"]) == 40 and len(split["val"]) == 4
    small = fixed_test_split(keys, test, val_fraction=0.0, seed=3, train_clips=12)
    assert len(small["train"]) == 12 and set(small["train"]) < set(keys[10:])
    assert small == fixed_test_split(keys, test, val_fraction=0.0, seed=3, train_clips=12)
