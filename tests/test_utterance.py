"""gu2s: whole-utterance inputs, padded batches, losses, the grammar read-out, training, loading, speak."""

import json
import math
import numpy as np
import pytest
import soundfile as sf
import torch

from lip2speech.corpus.grammar import SLOTS, WORDS
from lip2speech.data.lip_inputs import NormStats
from lip2speech.errors import Lip2SpeechError
from lip2speech.data.features import synthetic_features
from lip2speech.data.store import FeatureStore, load_item
from lip2speech.inference import load_run
from lip2speech.evaluation.metrics import corr2
from lip2speech.models import build_model
from lip2speech.training.train import train_system
from lip2speech.training.train_config import load_train_config
from lip2speech.training.losses import corr2_torch, envelope_corr, spectrogram_loss
from lip2speech.data.utterance import (VOCAB, WORD_INDEX, UtteranceInput, augment, change_speed, collate, grid_words,
                                  greedy_words, mask_frames, shift_pictures, to_model_rate, utterance_input)

TINY = {"system": "gu2s", "max_epochs": 3, "threads": 1, "batch_size": 4,
        "model": {"cnn": [4, 8], "embed": 16, "conv": 16, "gru": 16, "postnet": 8, "postnet_layers": 2}}


def _stats(mean_gf=0.0):
    return {"gf": NormStats("gf", {"s1": ([mean_gf] * 7, [1.0] * 7)}), "gp": NormStats("gp", {"s1": ([0.0], [1.0])})}


def _lips(n, fps=25.0, h=8, w=16, seed=0):
    rng = np.random.default_rng(seed)
    return {"gf": rng.random((n, 7)).astype(np.float32), "gp": rng.random((n, h, w)).astype(np.float32),
            "valid": np.ones(n, bool), "fps": fps}


def test_inputs_are_normalised_and_resampled_to_25_fps():
    x = utterance_input(_lips(60, fps=30.0), _stats(0.5), "s1")
    assert x.frames == 50 and x.gp.shape == (50, 8, 16)  # 2 s at 30 fps -> 2 s at 25 fps
    seen = utterance_input(_lips(75), _stats(0.5), "s1")
    assert np.allclose(seen.gf, _lips(75)["gf"] - 0.5)
    unseen = utterance_input(_lips(75), _stats(0.5), "other")  # normalised by its own utterance
    assert np.allclose(unseen.gf.mean(0), 0, atol=1e-5) and np.allclose(unseen.gf.std(0), 1, atol=1e-3)
    ramp = np.arange(30, dtype=np.float32)[:, None]
    assert np.allclose(to_model_rate(ramp, 30.0)[:, 0], np.arange(25) * 30 / 25, atol=1e-5)
    with pytest.raises(Lip2SpeechError, match="too short"):
        utterance_input(_lips(1), _stats(), "s1")


def test_augmentation_shifts_pictures_and_hides_frames_deterministically():
    gp = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5) + 1
    moved = shift_pictures(gp, 1, -2)
    assert np.array_equal(moved[:, 1:, :3], gp[:, :3, 2:]) and (moved[:, 0] == 0).all() and (moved[:, :, 3:] == 0).all()
    x = UtteranceInput(np.ones((100, 4, 5), np.float32), np.ones((100, 7), np.float32))
    hidden = [int((mask_frames(x, np.random.default_rng(s), 0.2).gf == 0).all(1).sum()) for s in range(20)]
    assert max(hidden) <= 20 and max(hidden) > 0  # two spans of at most 10 frames each
    masked = mask_frames(x, np.random.default_rng(0), 0.2)
    assert np.array_equal((masked.gp == 0).all((1, 2)), (masked.gf == 0).all(1))  # both inputs, same frames
    a, b = (augment(x, np.random.default_rng(7), time_mask=0.2, shift_pixels=1) for _ in range(2))
    assert np.array_equal(a.gp, b.gp) and np.array_equal(a.gf, b.gf)
    plain = augment(x, np.random.default_rng(7))  # without the options: flip / noise / nothing as before
    assert (plain.gf != 0).all()
    ramp = UtteranceInput(np.zeros((75, 4, 5), np.float32), np.tile(np.arange(75, dtype=np.float32)[:, None], (1, 7)))
    slow, spec = change_speed(ramp, np.tile(np.arange(376, dtype=np.float32)[:, None], (1, 128)), 1.2)
    assert slow.frames == 90 and spec.shape == (451, 128)  # 20% longer, still 5 spectrogram frames per frame
    assert np.allclose(slow.gf[[0, -1], 0], [0, 74]) and np.allclose(spec[[0, -1], 0], [0, 375])


def test_collate_pads_and_counts_frames():
    a = {"gp": np.ones((10, 8, 16), np.float32), "gf": np.ones((10, 7), np.float32),
         "spec": np.ones((52, 128), np.float32), "tokens": np.array([1, 2])}
    b = {"gp": np.ones((6, 8, 16), np.float32), "gf": np.ones((6, 7), np.float32),
         "spec": np.ones((28, 128), np.float32), "tokens": np.array([], np.int64)}
    batch = collate([a, b])
    assert batch["gp"].shape == (2, 10, 8, 16) and batch["spec"].shape == (2, 50, 128)
    assert batch["lengths"].tolist() == [10, 6] and batch["spec_lengths"].tolist() == [50, 28]
    assert batch["token_lengths"].tolist() == [2, 0] and batch["gf"][1, 6:].abs().sum() == 0


def test_masked_corr2_is_corr2_of_the_valid_frames_and_sharpness_penalises_blur():
    rng = np.random.default_rng(0)
    t, p = rng.random((2, 40, 128)), rng.random((2, 40, 128))
    p[0] = t[0] + 0.3 * p[0]
    lengths = torch.tensor([40, 25])
    mask = (torch.arange(40)[None] < lengths[:, None]).float()
    got = corr2_torch(torch.tensor(p), torch.tensor(t), mask=mask).numpy()
    assert got[0] == pytest.approx(corr2(t[0], p[0]), abs=1e-6)
    assert got[1] == pytest.approx(corr2(t[1, :25], p[1, :25]), abs=1e-6)
    target = torch.tensor(t[:1], dtype=torch.float32)
    blurred = torch.nn.functional.avg_pool1d(target.transpose(1, 2), 5, 1, 2).transpose(1, 2)
    m = torch.ones(1, 40)
    assert spectrogram_loss(blurred, target, m, 1.0)["sharp"] > spectrogram_loss(target, target, m, 1.0)["sharp"]
    lin = spectrogram_loss(blurred, target, m, 0.0, linear_corr2=1.0)  # corr2 of the decompressed spectrograms
    assert lin["linear_corr2"] < 1 and lin["loss"] > spectrogram_loss(blurred, target, m, 0.0)["loss"]


def test_envelope_corr_scores_short_time_band_envelopes_of_the_valid_frames():
    rng = np.random.default_rng(0)
    t = torch.tensor(rng.random((2, 120, 128)), dtype=torch.float32)
    mask = torch.ones(2, 120)
    assert envelope_corr(t, t, mask).item() == pytest.approx(1.0, abs=1e-5)
    # a louder copy and within-band channel reshuffles keep every band envelope's shape; another
    # utterance's envelopes do not correlate
    assert envelope_corr(t * 3.0, t, mask).item() == pytest.approx(1.0, abs=1e-5)
    swapped = t[..., torch.arange(128).reshape(16, 8).flip(1).reshape(-1)]
    assert envelope_corr(swapped, t, mask).item() == pytest.approx(1.0, abs=1e-5)
    assert abs(envelope_corr(t.flip(0), t, mask).item()) < 0.2
    # frames past the valid length do not count: garbage there changes nothing
    short = torch.ones(2, 120)
    short[1, 60:] = 0
    junk = t.clone()
    junk[1, 60:] = torch.tensor(rng.random((60, 128)), dtype=torch.float32)
    assert envelope_corr(junk, t, short).item() == pytest.approx(1.0, abs=1e-5)
    out = spectrogram_loss(t ** 0.3, t ** 0.3, mask, 0.0, envelope=1.0)
    assert out["envelope"].item() == pytest.approx(1.0, abs=1e-4)
    # a whole window of padding (constant target and prediction: the model outputs its biases there) must not
    # make the gradient NaN
    padded = t.clone()
    padded[1, 60:] = 0
    pred = torch.tensor(rng.random((2, 120, 128)), dtype=torch.float32)
    pred[1, 60:] = 0.5
    pred.requires_grad_(True)
    loss = spectrogram_loss(pred, padded ** 0.3, short, 1.0, linear_corr2=1.0, envelope=1.0)["loss"]
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_loudness_term_scores_the_frame_loudness_over_short_windows():
    """The loudness term ignores how the loudness is spread over channels and asks for its syllable-scale course:
    a frame-by-frame redistribution across channels keeps it at 1; a copy 8 frames (64 ms) late lowers it."""
    rng = np.random.default_rng(1)
    t = torch.tensor(rng.random((2, 120, 128)), dtype=torch.float32) ** 3
    mask = torch.ones(2, 120)
    spread = t.sum(-1, keepdim=True).expand_as(t) / 128  # the same loudness, flat across channels
    same = spectrogram_loss(spread ** 0.3, t ** 0.3, mask, 0.0, loudness=1.0)
    assert same["loudness"].item() == pytest.approx(1.0, abs=1e-4)
    late = spectrogram_loss(t.roll(8, dims=1) ** 0.3, t ** 0.3, mask, 0.0, loudness=1.0)
    assert late["loudness"].item() < 0.5 and late["loss"] > same["loss"]
    assert "loudness" not in spectrogram_loss(t, t, mask, 0.0)  # off by default


def test_grid_read_out_finds_a_grid_sentence_under_noise():
    words = ["place", "red", "at", "q", "seven", "soon"]
    rng = np.random.default_rng(0)
    logp = np.log(np.full((40, len(VOCAB)), 0.02)) + 0.5 * rng.standard_normal((40, len(VOCAB)))
    for i, w in enumerate(words):  # each word peaks on 3 frames, blanks between
        logp[5 * i + 2:5 * i + 5, WORD_INDEX[w]] = 0.0
    logp[logp.max(1) < -1, 0] = 0.0
    assert grid_words(logp) == words
    # a lone noisy frame that greedy decoding reads as an extra word is not a GRID sentence
    logp[1, WORD_INDEX["nine"]] = 1.0
    assert "nine" in greedy_words(logp)
    out = grid_words(logp)
    assert len(out) == 6 and all(w in dict(SLOTS[s]).values() for w, s in zip(out, SLOTS))
    assert set(WORDS) <= set(VOCAB) and VOCAB[0] == "<blank>"


def test_grid_read_out_reads_several_sentences_of_a_long_video():
    said = ["place", "red", "at", "q", "seven", "soon", "bin", "blue", "by", "f", "two", "now"]
    logp = np.log(np.full((80, len(VOCAB)), 0.01))
    for i, w in enumerate(said):
        logp[6 * i + 2:6 * i + 5, WORD_INDEX[w]] = 0.0
    logp[logp.max(1) < -1, 0] = 0.0
    assert grid_words(logp) == said


def test_model_handles_padding_and_any_length():
    net = build_model("gu2s", height=8, width=16, cnn=[4, 8], embed=16, conv=16, gru=16, postnet=8).eval()
    out = net(torch.randn(2, 12, 8, 16), torch.randn(2, 12, 7), torch.tensor([12, 7]))
    assert out["spec"].shape == (2, 60, 128) and out["logits"].shape == (2, 12, len(VOCAB))
    long = net(torch.randn(1, 500, 8, 16), torch.randn(1, 500, 7), torch.tensor([500]))  # 20 s of video
    assert long["spec"].shape == (1, 2500, 128) and torch.isfinite(long["spec"]).all()
    gf_only = build_model("gu2s", use_gp=False, ctc=False, conv=16, gru=16, postnet_layers=0)
    assert gf_only(None, torch.randn(1, 10, 7), torch.tensor([10]))["logits"] is None


def test_the_grey_mouth_region_is_cut_from_the_face_crop_and_augmented_with_the_pictures():
    """use_mouth: the mouth region of the 64 px face crop (32 x 48 px), normalised; a flip, a shift and hidden
    frames act on it as on the Gabor pictures; a model built to read it refuses to go without it."""
    from lip2speech.data.lip_inputs import mouth_region

    faces = np.zeros((30, 64, 64), np.uint8)
    faces[:, 40:50, 20:44] = 200  # a bright mouth below the middle of the face
    assert mouth_region(faces).shape == (30, 32, 48) and mouth_region(faces).max() == 200
    assert mouth_region(faces[:, :32]).max() == 0  # the upper face (eyes) is not in it
    lips = {**_lips(30), "faces": faces}
    stats = {**_stats(), "mouth": NormStats("mouth", {"s1": ([0.1], [0.2])})}
    x = utterance_input(lips, stats, "s1", mouth=True)
    assert x.mouth.shape == (30, 32, 48) and np.isclose(x.mouth.max(), (200 / 255 - 0.1) / 0.2)
    assert utterance_input(lips, stats, "s1").mouth is None
    x = UtteranceInput(np.ones((100, 4, 5), np.float32), np.ones((100, 7), np.float32), np.ones((100, 6, 8), np.float32))
    masked = mask_frames(x, np.random.default_rng(0), 0.2)
    assert np.array_equal((masked.mouth == 0).all((1, 2)), (masked.gf == 0).all(1)) and (masked.gf == 0).any()
    ramp = UtteranceInput(np.zeros((4, 2, 3), np.float32), np.zeros((4, 7), np.float32),
                          np.tile(np.arange(3, dtype=np.float32), (4, 2, 1)))
    flips = [augment(ramp, np.random.default_rng(s)) for s in range(12)]
    assert any(np.array_equal(f.mouth[0, 0], [2, 1, 0]) for f in flips)  # mirrored with the pictures
    batch = collate([{"gp": x.gp[:10], "gf": x.gf[:10], "mouth": x.mouth[:10], "spec": np.ones((50, 128)),
                      "tokens": np.array([1])}, {"gp": x.gp[:4], "gf": x.gf[:4], "mouth": x.mouth[:4],
                                                 "spec": np.ones((20, 128)), "tokens": np.array([1])}])
    assert batch["mouth"].shape == (2, 10, 6, 8) and batch["mouth"][1, 4:].abs().sum() == 0
    net = build_model("gu2s", height=4, width=5, cnn=[4, 8], embed=16, conv=16, gru=16, postnet=8,
                      use_mouth=True, mouth_height=6, mouth_width=8).eval()
    out = net(batch["gp"], batch["gf"], batch["lengths"], batch["mouth"])
    assert out["spec"].shape == (2, 50, 128)
    with pytest.raises(ValueError, match="mouth"):
        net(batch["gp"], batch["gf"], batch["lengths"])


def test_gu2s_with_the_mouth_region_trains_and_speaks(tmp_path):
    """model.use_mouth: the run keeps the region's stats and size, and its reconstructor feeds it."""
    root = tmp_path
    synthetic_features(root / "feats", speakers=1, utterances=10, seed=4, face=16)
    cfg = load_train_config(None, {**TINY, "max_epochs": 1, "model": {**TINY["model"], "use_mouth": True}})
    run = train_system(cfg, root / "feats", root / "run", show_progress=False)
    rec = load_run(run)
    assert rec.net.use_mouth and "mouth" in rec.stats
    item = load_item(root / "feats", rec.test_keys[0])
    side = item["lips"]["faces"].shape[1]  # the region's size follows the face crops' (half the rows, 3/4 the columns)
    assert (rec.meta["model_kwargs"]["mouth_height"], rec.meta["model_kwargs"]["mouth_width"]) == (side // 2, side * 3 // 4)
    spec = rec.predict_spectrogram(item)
    assert spec.shape == item["aud"].shape and np.isfinite(spec).all()
    # speak and adapt extract lips at the face crop size the model reads; lips of another size are refused
    from lip2speech.data.lip_inputs import model_face_size
    from lip2speech.lips.crop_size import FACE_SIZE

    assert rec.face_size == side and model_face_size({}) == FACE_SIZE
    wrong = {**item["lips"], "faces": np.zeros((len(item["lips"]["faces"]), 2 * side, 2 * side), np.uint8)}
    with pytest.raises(Lip2SpeechError, match=f"face crops of {side} px, these lips have {2 * side} px.*"
                                              f"--face-size {side}"):
        rec.predict_from_lips(wrong, None, len(item["aud"]))
    synthetic_features(root / "feats32", speakers=1, utterances=4, seed=5, face=2 * side)
    with pytest.raises(Lip2SpeechError, match=f"hold face crops of {2 * side} px, the model reads {side} px"):
        rec.check_features(root / "feats32")  # evaluate on another features folder: refused before any clip
    rec.check_features(root / "feats")
    with pytest.raises(Lip2SpeechError, match=f"reads face crops of {side} px, these features have {2 * side} px"):
        train_system(load_train_config(None, {**TINY, "max_epochs": 1, "init_from": str(run)}), root / "feats32",
                     root / "tuned", show_progress=False)
    assert not (root / "tuned").exists()  # nothing left behind

    from lip2speech.training.shipped import export_model  # two such members average into one shipped model

    other = train_system(load_train_config(None, {**TINY, "max_epochs": 1, "seed": 1, "split_seed": 0, "model": {
        **TINY["model"], "use_mouth": True}}), root / "feats", root / "run1", show_progress=False)
    export_model([run, other], root / "ens", "# card\n")
    (root / "ens" / "config.yaml").write_text((run / "config.yaml").read_text())
    ens = load_run(root / "ens")
    assert ens.net.use_mouth and [m.use_mouth for m in ens.net.members] == [True, True]
    both = ens.predict_spectrogram(item)
    assert both.shape == spec.shape and np.isfinite(both).all() and not np.allclose(both, spec)


@pytest.fixture(scope="module")
def gu2s_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gu2s")
    synthetic_features(root / "feats", speakers=1, utterances=12, seed=3, face=16)  # GRID-sized Gabor pictures
    cfg = load_train_config(None, TINY)
    return train_system(cfg, root / "feats", root / "runs" / "gu2s", show_progress=False), root


def test_gu2s_trains_without_autoencoder_and_predicts_on_the_target_grid(gu2s_run):
    run, root = gu2s_run
    assert not list((root / "runs").glob("autoencoder-*"))
    rec = load_run(run)
    assert rec.system == "gu2s" and rec.kind == "utterance" and rec.fs == 8000
    assert not rec.reads_words  # the synthetic features carry no transcripts: no CTC head
    item = load_item(root / "feats", rec.test_keys[0])
    spec = rec.predict_spectrogram(item)
    assert spec.shape == item["aud"].shape and spec.min() >= 0 and np.isfinite(spec).all()
    cfg = load_train_config(None, {"system": "gu2s"})
    assert cfg.batch_size == 8 and cfg.lr == pytest.approx(2e-3)  # its own defaults: configs/gu2s.yaml
    with pytest.raises(Lip2SpeechError, match="whole utterances"):
        load_train_config(None, {"system": "gu2s", "task": "words"})


def test_gu2s_reads_words_when_trained_with_transcripts(tmp_path):
    """Items with GRID words train a CTC head; the read-out is always a grammatical sentence."""
    rng = np.random.default_rng(0)
    sentence = ("bin", "blue", "at", "f", "two", "now")
    store = FeatureStore.create(tmp_path / "f", fs=16000)
    entries = []
    for u in range(8):
        lips = {**_lips(25, seed=u), "faces": np.zeros((25, 8, 8), np.uint8), "landmarks": np.zeros((25, 68, 2)),
                "mouth_boxes": np.zeros((25, 4))}
        entries.append(store.write_item(f"s1/u{u}", rng.random((125, 128)), lips, "s1", sentence))
    store.write_manifest(entries)
    run = train_system(load_train_config(None, {**TINY, "max_epochs": 1, "test_fraction": 0.25}), tmp_path / "f",
                       tmp_path / "run", show_progress=False)
    rec = load_run(run)
    assert rec.reads_words and rec.fs == 16000
    spec, words = rec.predict_utterance(load_item(tmp_path / "f", rec.test_keys[0])["lips"], "s1", 125)
    assert spec.shape == (125, 128) and len(words) == 6


def test_gu2s_trains_on_train_and_validation_with_the_same_test_split(gu2s_run, tmp_path):
    """val_fraction 0: the validation clips join training, the test split is unchanged, model.ckpt is the last
    epoch; split_seed keeps that split under another seed; a window system refuses to go without validation."""
    run, root = gu2s_run
    base = json.loads((run / "split.json").read_text())
    cfg = load_train_config(None, {**TINY, "max_epochs": 2, "val_fraction": 0.0, "seed": 5, "split_seed": 0})
    out = train_system(cfg, root / "feats", tmp_path / "all", show_progress=False)
    split = json.loads((out / "split.json").read_text())
    assert split["test"] == base["test"] and not split["val"]
    assert sorted(split["train"]) == sorted(base["train"] + base["val"])
    ckpt = torch.load(out / "model.ckpt", weights_only=False)
    assert ckpt["epoch"] == 1 and torch.load(out / "last.ckpt", weights_only=False)["epoch"] == 1
    assert math.isnan(json.loads((out / "summary.json").read_text())["best_val_loss"])
    other = load_train_config(None, {**TINY, "max_epochs": 1, "val_fraction": 0.0, "seed": 5})
    assert json.loads((train_system(other, root / "feats", tmp_path / "s5", show_progress=False)
                       / "split.json").read_text())["test"] != base["test"]  # the seed draws the split
    with pytest.raises(Lip2SpeechError, match="val_fraction 0"):
        train_system(load_train_config(None, {"system": "gf2s", "val_fraction": 0.0}), root / "feats",
                     tmp_path / "gf2s", show_progress=False)


def test_an_exported_ensemble_speaks_the_mean_of_its_members(gu2s_run, tmp_path):
    """export_model of several runs of one recipe: one float16 checkpoint whose spectrogram is the mean of the
    members' (compressed domain); runs of another split or size are refused with the run named."""
    from lip2speech.training.shipped import export_model

    run, root = gu2s_run
    members = [train_system(load_train_config(None, {**TINY, "max_epochs": 1, "val_fraction": 0.0, "split_seed": 0,
                                                     "seed": s}), root / "feats", tmp_path / f"m{s}",
                            show_progress=False) for s in (1, 2)]
    out = export_model(members, tmp_path / "ens", "# card\n", {"note": 1})
    ckpt = torch.load(out, weights_only=False)
    assert ckpt["lip2speech"]["members"] == 2
    assert json.loads((tmp_path / "ens" / "card.json").read_text())["members"] == 2
    assert all(k.startswith(("net.members.0.", "net.members.1.")) and
               (not v.is_floating_point() or v.dtype == torch.float16) for k, v in ckpt["state_dict"].items())
    (tmp_path / "ens" / "config.yaml").write_text((members[0] / "config.yaml").read_text())
    ens = load_run(tmp_path / "ens")
    one = [load_run(m) for m in members]
    item = load_item(root / "feats", ens.test_keys[0])
    from lip2speech.data.utterance import utterance_input

    x = utterance_input(item["lips"], ens.stats, item.get("speaker", "<unseen>"))
    args = (torch.from_numpy(x.gp)[None], torch.from_numpy(x.gf)[None], torch.tensor([x.frames]))
    with torch.no_grad():
        for r in one:  # the members as shipped: float16 weights
            r.net.load_state_dict({k: v.half().float() for k, v in r.net.state_dict().items()})
        want = torch.stack([r.net(*args)["spec"] for r in one]).mean(0)
        got = ens.net(*args)["spec"]
    assert torch.allclose(got, want, atol=1e-5) and not torch.allclose(got, one[0].net(*args)["spec"])
    assert ens.predict_spectrogram(item).shape == item["aud"].shape
    with pytest.raises(Lip2SpeechError, match="another stats|another test split") as err:
        export_model([members[0], run], tmp_path / "bad", "# card\n")
    assert str(run) in str(err.value)


def test_export_model_owns_the_framing_file(gu2s_run, tmp_path):
    """export_model writes the framing record it is given (notes kept), and removes a stale one when the model's
    lips were made at video px, so the folder never tells speak a scale its weights were not trained at."""
    from lip2speech.lips.framing import FRAMING_FILE, read_mouth_width
    from lip2speech.training.shipped import export_model

    run, _ = gu2s_run
    out = tmp_path / "shipped"
    export_model(run, out, "# card\n", framing={"mouth_width": 61.5, "measured_on": "test clips"})
    assert read_mouth_width(out) == 61.5
    assert json.loads((out / FRAMING_FILE).read_text())["measured_on"] == "test clips"
    assert read_mouth_width(run) is None  # this run's lips are at video px
    export_model(run, out, "# card\n")
    assert not (out / FRAMING_FILE).exists() and read_mouth_width(out) is None


@pytest.mark.slow
def test_speak_with_gu2s_on_real_clips(gu2s_run, grid_dir, tmp_path):
    from lip2speech.inference.speak import speak_many
    from lip2speech.video.io import read_video, write_video

    run, _ = gu2s_run
    videos = sorted(p for p in grid_dir.iterdir() if p.suffix == ".mpg")[:2]
    res = speak_many(run, videos, tmp_path / "out", tmp_path / "vid", log=lambda s: None)
    assert len(res["clips"]) == 2 and res["startup_s"] > 0
    # the face models load, and the model, inversion and detector warm up, in the start-up, not in the first clip
    assert res["face_models_s"] > 0 and res["warm_up_s"] > 0
    assert res["startup_s"] == pytest.approx(res["model_s"] + res["face_models_s"] + res["warm_up_s"])
    # the warm-up changes no output: a fresh model without it speaks the same waveform
    from lip2speech.inference import load_run
    from lip2speech.inference.speak import reconstruct_clip

    cold = reconstruct_clip(load_run(run), videos[0], tmp_path / "cold.wav")
    assert np.array_equal(cold["wave"], res["clips"][0]["wave"])
    wave, fs = sf.read(tmp_path / "out" / f"{videos[0].stem}.wav")
    assert fs == 8000 and abs(len(wave) / fs - 3.0) < 0.05 and np.abs(wave).max() > 0.1
    assert (tmp_path / "vid" / f"{videos[1].stem}.mp4").is_file()
    assert set(res["clips"][0]["times"]) == {"decode", "lips", "model", "inversion", "write"}
    assert 0 < res["clips"][0]["cpu_s"]
    # the inversion's start is a choice: channel sinusoids give other audio from the same spectrogram
    sine = speak_many(run, videos[:1], tmp_path / "sine.wav", start="sine", log=lambda s: None)["clips"][0]
    assert np.array_equal(sine["spectrogram"], res["clips"][0]["spectrogram"])
    assert not np.allclose(sine["wave"], res["clips"][0]["wave"])
    # a `lip2speech lips` file stands for its video: the same lips, no decoding or landmarks
    from lip2speech.lips.track import extract_lips

    extract_lips(videos[0]).save(tmp_path / "track.npz")
    from_track = speak_many(run, [tmp_path / "track.npz"], tmp_path / "t.wav", log=lambda s: None)["clips"][0]
    assert np.array_equal(from_track["spectrogram"], res["clips"][0]["spectrogram"])
    bad_mux = speak_many(run, [tmp_path / "track.npz"], tmp_path / "t2.wav", tmp_path / "t2.mp4", log=lambda s: None)
    assert "no video frames to mux" in bad_mux["failures"][0]
    long = tmp_path / "long.mp4"  # a 20 s video: whole utterances of any length
    frames = read_video(videos[0]).frames
    write_video(long, np.concatenate([frames] * 7)[:500], 25)
    res_long = speak_many(run, [long], tmp_path / "long.wav", n_iter=2, log=lambda s: None)
    assert abs(res_long["clips"][0]["seconds"] - 20.0) < 0.05
    assert res_long["clips"][0]["spectrogram"].shape == (2500, 128)
    one = tmp_path / "one.mp4"
    write_video(one, read_video(videos[0]).frames[:1], 25)
    bad = speak_many(run, [one], tmp_path / "one.wav", log=lambda s: None)
    assert bad["clips"] == [] and "1 frame" in bad["failures"][0] and "one.mp4" in bad["failures"][0]


def test_the_same_gu2s_run_twice_gives_the_same_weights(gu2s_run, tmp_path):
    run, root = gu2s_run
    again = train_system(load_train_config(None, TINY), root / "feats", tmp_path / "again", show_progress=False)
    first = torch.load(run / "model.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    second = torch.load(again / "model.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
