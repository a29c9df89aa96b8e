"""Run folders: where training resumes, refusing a checkpoint of another system or model size, and split.json."""

import pytest
import torch

from lip2speech.errors import Lip2SpeechError
from lip2speech.training.run_folder import check_split, read_split, resume_point, weights_mismatch, write_split


def _save(path, system, state, epoch=3):
    torch.save({"lip2speech": {"system": system}, "epoch": epoch, "state_dict": state}, path)


def test_resume_point_resumes_after_the_saved_epoch_and_refuses_other_models(tmp_path):
    assert resume_point(tmp_path, "gf2s") == (None, 0)
    state = {"net.w": torch.zeros(4, 3), "net.b": torch.zeros(4)}
    _save(tmp_path / "last.ckpt", "gf2s", state)
    assert resume_point(tmp_path, "gf2s", state) == (str(tmp_path / "last.ckpt"), 4)
    with pytest.raises(Lip2SpeechError, match="not a gp2s checkpoint"):
        resume_point(tmp_path, "gp2s")
    with pytest.raises(Lip2SpeechError, match=r"net.w: \(4, 3\) in the checkpoint, \(8, 3\) configured"):
        resume_point(tmp_path, "gf2s", {"net.w": torch.zeros(8, 3), "net.b": torch.zeros(4)})
    (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(Lip2SpeechError, match="corrupt checkpoint"):
        resume_point(tmp_path, "gf2s")


def test_weights_mismatch_names_the_first_difference():
    a = {"x": torch.zeros(2), "y": torch.zeros(3)}
    assert weights_mismatch(a, dict(a)) == ""
    assert weights_mismatch(a, {"x": torch.zeros(2)}) == "y only in the checkpoint"
    assert weights_mismatch({"x": torch.zeros(2)}, a) == "y only in the model"


def test_split_json_round_trips_and_bad_files_get_one_line_errors(tmp_path):
    split = {"train": ["s1/a", "s1/b"], "val": ["s1/c"], "test": ["s1/d"]}
    write_split(tmp_path, split)
    assert read_split(tmp_path) == split == read_split(tmp_path / "split.json")
    check_split(tmp_path, split)  # the same split: the folder may resume
    with pytest.raises(Lip2SpeechError, match="split.json differs"):
        check_split(tmp_path, {**split, "val": []})
    with pytest.raises(Lip2SpeechError, match="no split.json"):
        read_split(tmp_path / "elsewhere")
    (tmp_path / "split.json").write_text("{not json")
    with pytest.raises(Lip2SpeechError, match="unreadable split.json"):
        read_split(tmp_path)
    (tmp_path / "split.json").write_text('{"train": "s1/a"}')
    with pytest.raises(Lip2SpeechError, match="not a split.json"):
        read_split(tmp_path)
