"""FeatureStore: the features folder's configuration, manifest and items, read with only the fields asked for."""

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.data.store import FeatureStore, entry_from_file, item_path, load_item


def _lips(n=50):
    rng = np.random.default_rng(n)
    return {"gf": rng.random((n, 7)).astype(np.float32), "gp": rng.random((n, 8, 16)).astype(np.float32),
            "faces": np.zeros((n, 8, 8), np.uint8), "valid": np.ones(n, bool),
            "landmarks": np.zeros((n, 68, 2), np.float32), "mouth_boxes": np.zeros((n, 4), np.int32), "fps": 25.0}


def test_store_writes_and_reads_items_and_lists_keys_by_speaker(tmp_path):
    store = FeatureStore.create(tmp_path / "f", fs=16000)
    assert store.fs == 16000 and store.config["spec_frame_s"] == 0.008
    aud = np.random.default_rng(0).random((250, 128)).astype(np.float32)
    entries = [store.write_item(f"{spk}/u{i}", aud, _lips(), spk, ("bin", "blue"), (("bin", 0.1, 0.3), ("blue", 0.3, 0.6)))
               for spk in ("s1", "s2") for i in range(2)]
    store.write_manifest(entries)
    assert store.keys() == ["s1/u0", "s1/u1", "s2/u0", "s2/u1"] and store.keys(["s2"]) == ["s2/u0", "s2/u1"]
    assert store.manifest["s1/u0"] == {"key": "s1/u0", "speaker": "s1", "frames": 50, "aud_frames": 250,
                                       "path": "items/s1/u0.npz"}
    item = store.item("s2/u1")
    assert item["speaker"] == "s2" and item["word_times"] == (("bin", 0.1, 0.3), ("blue", 0.3, 0.6))
    assert "aud" not in item._d  # the spectrogram is read only when asked for
    assert np.array_equal(item["lips"]["gp"], _lips()["gp"]) and np.array_equal(item["aud"], aud)
    assert entry_from_file("s1/u0", item_path(store.path, "s1/u0")) == entries[0]  # from the headers alone
    # the folder's configuration is checked on opening
    with pytest.raises(Lip2SpeechError, match="another configuration"):
        FeatureStore(store.path, {"version": 1, "fs": 8000, "spec_frame_s": 0.008, "bins": 128})
    with pytest.raises(Lip2SpeechError, match="no features.json"):
        FeatureStore(tmp_path / "nothing")
    with pytest.raises(Lip2SpeechError, match="no prepared item"):
        load_item(store.path, "s3/x")
    item_path(store.path, "s1/u1").write_bytes(b"broken")
    with pytest.raises(Lip2SpeechError, match="unreadable features item"):
        store.item("s1/u1")
    assert entry_from_file("s1/u1", item_path(store.path, "s1/u1")) is None
