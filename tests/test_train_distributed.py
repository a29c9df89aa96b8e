"""Training beyond one CPU: machine settings and their errors, rank-sharded samplers, CPU DDP end to end."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lip2speech.data.datasets import BlockShuffleSampler, ShardSampler, process_rank, rank_shard
from lip2speech.errors import Lip2SpeechError
from lip2speech.training.hardware import Hardware, resolve_hardware, training_jobs
from lip2speech.training.run_folder import check_run_folder
from lip2speech.training.train import _loader
from lip2speech.training.train_config import RUNTIME_KEYS, TrainConfig

GROUPS = [list(range(5 * u, 5 * u + 5)) for u in range(20)]  # 20 utterances of 5 windows each


@pytest.fixture
def two_gpus(monkeypatch):
    """Pretend this machine has two CUDA GPUs (only the resolution of settings looks)."""
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


# ---- samplers -----------------------------------------------------------------------------------


def test_block_sampler_gives_every_rank_a_disjoint_equal_contiguous_shard():
    for epoch in (0, 1):
        whole = BlockShuffleSampler(GROUPS, 2, seed=3)
        ranks = [BlockShuffleSampler(GROUPS, 2, seed=3, rank=r, world=3) for r in range(3)]
        for s in [whole, *ranks]:
            s.set_epoch(epoch)
        shards = [list(s) for s in ranks]
        assert [len(x) for x in shards] == [len(s) for s in ranks] == [33, 33, 33]
        flat = [i for x in shards for i in x]
        assert len(set(flat)) == 99 and flat == list(whole)[:99]  # the one-process order, cut in three
        assert sorted(whole) == list(range(100)) and len(whole) == 100
        assert shards == [list(s) for s in ranks]  # deterministic per (seed, epoch)
        # blocks of 2 utterances stay together: a rank reads at most half of the utterances, not all of them
        assert all(len({i // 5 for i in x}) <= 10 for x in shards)
    first, later = (BlockShuffleSampler(GROUPS, 2, seed=3, rank=0, world=3) for _ in range(2))
    later.set_epoch(1)
    assert list(first) != list(later)  # a new order every epoch


def test_shard_sampler_and_rank_outside_ddp():
    assert process_rank() == (0, 1) and process_rank(2, 4) == (2, 4)
    assert rank_shard(list(range(10)), 1, 3) == [3, 4, 5] and rank_shard(list(range(10)), 0, 1) == list(range(10))
    assert list(ShardSampler(10)) == list(range(10)) and len(ShardSampler(10, rank=2, world=3)) == 3
    assert list(ShardSampler(10, rank=2, world=3)) == [6, 7, 8]
    # evaluation: every sample at least once, equal lengths (the order continued from its start)
    assert [list(ShardSampler(10, rank=r, world=4, pad=True)) for r in range(4)] == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 0, 1]]
    assert [list(ShardSampler(1, rank=r, world=2, pad=True)) for r in range(2)] == [[0], [0]]
    assert len(ShardSampler(10, rank=0, world=4, pad=True)) == 3

    class Data:
        epoch = 0

    ds = Data()
    inner = BlockShuffleSampler(GROUPS, 4, seed=1, dataset=ds)
    wrapped = ShardSampler(inner, rank=1, world=2)
    wrapped.set_epoch(5)
    assert inner.epoch == ds.epoch == 5 and list(wrapped) == list(inner)[50:]


def test_loader_splits_the_batch_and_shards_every_sampler():
    ds = list(range(40))
    one = _loader(ds, 32, hw=Hardware())
    two = _loader(ds, 32, torch.utils.data.RandomSampler(ds), hw=Hardware(devices=2))
    assert one.batch_size == 32 and two.batch_size == 16 and isinstance(two.sampler, ShardSampler)
    assert one.num_workers == 0 and not one.pin_memory
    assert two.sampler.pad is False and _loader(ds, 32, hw=Hardware(devices=2)).sampler.pad is True
    with pytest.raises(Lip2SpeechError, match="3 training samples cannot be shared by 4"):
        _loader([0, 1, 2], 8, torch.utils.data.RandomSampler([0, 1, 2]), hw=Hardware(devices=2, num_nodes=2))
    assert len(_loader([0, 1, 2], 8, hw=Hardware(devices=2, num_nodes=2)).sampler.base) == 3  # validation


# ---- settings and their one-line errors --------------------------------------------------------


def test_default_is_one_cpu_process_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    hw = resolve_hardware(TrainConfig())
    assert hw == Hardware("cpu", 1, "auto", 1, "32", 0) and hw.world_size == 1 and not hw.pin_memory
    assert resolve_hardware(TrainConfig(accelerator="cpu", devices="3", strategy="ddp")).world_size == 3
    with pytest.raises(Lip2SpeechError, match="accelerator gpu: no CUDA GPU"):
        resolve_hardware(TrainConfig(accelerator="gpu"))


def test_gpu_settings_are_checked_against_the_gpus(two_gpus):
    hw = resolve_hardware(TrainConfig(devices=2, precision="16-mixed"))
    assert (hw.accelerator, hw.devices, hw.precision, hw.pin_memory) == ("gpu", 2, "16-mixed", True)
    assert 1 <= hw.workers <= 4
    with pytest.raises(Lip2SpeechError, match="devices 3: this machine has 2 GPU device"):
        resolve_hardware(TrainConfig(accelerator="gpu", devices=3))


@pytest.mark.parametrize("change, message", [
    ({"precision": "fp8"}, "unknown precision 'fp8'"),
    ({"precision": "16-mixed", "accelerator": "cpu"}, "16-mixed needs a GPU"),
    ({"accelerator": "tpu"}, "unknown accelerator 'tpu'"),
    ({"devices": 0}, "devices must be a whole number >= 1"),
    ({"devices": "two"}, "devices must be a whole number >= 1"),
    ({"strategy": "magic"}, "unknown strategy 'magic'"),
    ({"strategy": "ddp_spawn"}, "not supported"),
    ({"num_nodes": 0}, "num_nodes must be"),
    ({"workers": -1}, "workers must be"),
])
def test_bad_settings_are_one_line_errors(change, message):
    with pytest.raises(Lip2SpeechError, match=message) as info:
        resolve_hardware(TrainConfig(**{"accelerator": "cpu", **change}))
    assert "\n" not in str(info.value)


def test_parallel_training_jobs_on_a_gpu_and_under_ddp():
    from lip2speech.parallel import default_jobs

    gpu, cpu, ddp = Hardware("gpu"), Hardware("cpu"), Hardware("cpu", devices=2)
    assert training_jobs(cpu, 0) == default_jobs() and training_jobs(gpu, 0) == 1 and training_jobs(ddp, 0) == 1
    assert training_jobs(cpu, 3) == 3 and training_jobs(gpu, 1) == 1 and training_jobs(gpu, 2, True) == 2
    with pytest.raises(Lip2SpeechError, match="side by side on one GPU.*--allow-shared-gpu"):
        training_jobs(gpu, 2)
    with pytest.raises(Lip2SpeechError, match="does not combine with DDP"):
        training_jobs(ddp, 2, True)


def test_cli_refuses_parallel_jobs_on_one_gpu_and_no_gpu(two_gpus, tmp_path):
    from typer.testing import CliRunner

    from lip2speech.cli import app

    res = CliRunner().invoke(app, ["experiment", "single", "-f", str(tmp_path), "-o", str(tmp_path / "x"),
                                   "--jobs", "2"])
    assert res.exit_code != 0 and "--allow-shared-gpu" in str(res.exception)
    res = CliRunner().invoke(app, ["train", "--system", "gf2s", "-f", str(tmp_path), "-o", str(tmp_path / "r"),
                                   "--devices", "3"])
    assert res.exit_code != 0 and "devices 3: this machine has 2 GPU" in str(res.exception)


@pytest.mark.skipif(torch.cuda.device_count() > 0, reason="needs a machine without a CUDA GPU")
def test_cli_gpu_without_gpu_is_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "lip2speech", "train", "--system", "gf2s", "-f", str(tmp_path),
                          "-o", str(tmp_path / "r"), "--accelerator", "gpu"], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "error: accelerator gpu: no CUDA GPU is visible on this machine (torch.cuda.device_count() is 0); "
        "use --accelerator cpu or auto"]


def test_runtime_settings_do_not_make_another_configuration(tmp_path):
    resolved = {"system": "gf2s", "lr": 1e-3, "task": "sentence", "split_protocol": "ours", "gf_input": "study",
                **{k: v for k, v in vars(TrainConfig()).items() if k in RUNTIME_KEYS}}
    gpu_run = {**resolved, "accelerator": "gpu", "devices": 4, "strategy": "ddp", "num_nodes": 2,
               "precision": "bf16-mixed", "workers": 4, "threads": 0}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(gpu_run))
    check_run_folder(tmp_path, resolved)  # resumes on one CPU
    with pytest.raises(Lip2SpeechError, match="differs in: lr"):
        check_run_folder(tmp_path, {**resolved, "lr": 0.5})


def test_yaml_sets_the_machine(tmp_path):
    from lip2speech.training.train_config import load_train_config

    p = tmp_path / "gpu.yaml"
    p.write_text("accelerator: gpu\ndevices: 4\nstrategy: ddp\nnum_nodes: 2\nprecision: bf16-mixed\nworkers: 6\n")
    cfg = load_train_config(p)
    assert (cfg.accelerator, cfg.devices, cfg.strategy, cfg.num_nodes, cfg.precision, cfg.workers) == \
        ("gpu", 4, "ddp", 2, "bf16-mixed", 6)
    default = load_train_config()
    assert (default.accelerator, default.devices, default.precision, default.workers) == ("auto", "auto", "32", "auto")


# ---- CPU DDP end to end ------------------------------------------------------------------------


def _live_in_group(pgid: int) -> list[int]:
    """Processes of process group `pgid` that are still running (not zombies)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _run(cmd: list[str], log: Path, interrupt_when: Path | None = None, timeout: float = 300):
    """Run cmd in its own process group (stdout/stderr to log.out/log.err); with `interrupt_when`, press
    Ctrl-C (SIGINT to the launching process) as soon as that file exists. Returns (returncode, out, err, left)
    where `left` are the group's processes still alive 5 s after the command returned."""
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    with out.open("w") as fo, err.open("w") as fe:
        # SIGINT as at a terminal: a runner that started these tests in the background (`cmd &` in a script) leaves it
        # ignored, which the child would inherit and Python would keep, so the Ctrl-C below would go unheard
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + timeout
            while interrupt_when is not None and not interrupt_when.exists() and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            if interrupt_when is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            for _ in range(50):
                left = _live_in_group(proc.pid)
                if not left:
                    break
                time.sleep(0.1)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return proc.returncode, out.read_text(), err.read_text(), left


def _test_corr2(run: Path, feats: Path) -> float:
    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run
    from lip2speech.evaluation.metrics import corr2

    rec = load_run(run)
    items = [load_item(feats, k) for k in rec.test_keys]
    return float(np.mean([corr2(rec.predict_spectrogram(it), it["aud"]) for it in items]))


@pytest.mark.slow
def test_cpu_ddp_two_processes_trains_resumes_and_matches_one_process(tmp_path):
    from lip2speech.data.features import synthetic_features
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import CONFIG_DIR, load_train_config

    feats = tmp_path / "f"
    synthetic_features(feats, speakers=2, utterances=10, seed=0, gp_shape=(8, 16), face=32)
    epochs = 30  # long enough (~12 s) that the SIGINT lands mid-training even on a loaded machine
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({"base": str(CONFIG_DIR / "fast.yaml"), "threads": 1, "max_epochs": epochs,
                                      "early_stop_patience": epochs, "model": {"lstm": 32, "dense": 64},
                                      "autoencoder": {"max_epochs": 15}}))
    one = train_system(load_train_config(config, {"system": "gf2s", "accelerator": "cpu"}), feats,
                       tmp_path / "one" / "gf2s", show_progress=False)

    out = tmp_path / "two" / "gf2s"
    cmd = [sys.executable, "-m", "lip2speech", "train", "--system", "gf2s", "-f", str(feats), "-o", str(out),
           "-c", str(config), "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp"]
    rc, _, err, left = _run(cmd, tmp_path / "first", interrupt_when=out / "last.ckpt")
    assert rc == 2 and "training interrupted; run the same command again" in err and "Traceback" not in err, err
    assert not left, "DDP processes outlived the interrupted command"
    assert (out / "last.ckpt").is_file() and not (out / "summary.json").exists()
    assert yaml.safe_load((out / "config.yaml").read_text())["devices"] == 2

    rc, stdout, err, left = _run(cmd, tmp_path / "again")
    assert rc == 0 and not left, err[-3000:]
    assert stdout.count("trained gf2s ->") == 1  # only rank 0 reports
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hardware"] == {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "num_nodes": 1,
                                   "precision": "32", "workers": 0}
    assert summary["start_epoch"] >= 1 and summary["epochs"] == epochs  # resumed, then ran to the end
    rows = (out / "metrics.csv").read_text().splitlines()[1:]
    assert sorted({int(r.split(",")[0]) for r in rows}) == list(range(epochs))
    ae = Path(summary["autoencoder_run"])
    assert ae.parent == out.parent and json.loads((ae / "summary.json").read_text())["hardware"]["devices"] == 2

    c_one, c_two = _test_corr2(one, feats), _test_corr2(out, feats)
    assert c_two > 0.3 and abs(c_two - c_one) <= 0.05, (c_one, c_two)


@pytest.mark.slow
def test_dataloader_workers_train_exactly_like_one_process(tmp_path):
    """Forked workers get every epoch's augmentation (set_epoch reaches their dataset): the same losses."""
    import csv

    from lip2speech.data.features import synthetic_features
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    feats = tmp_path / "f"
    synthetic_features(feats, speakers=2, utterances=6, seed=0, gp_shape=(8, 16), face=32)
    tiny = {"max_epochs": 3, "threads": 1, "batch_size": 16, "accelerator": "cpu", "model": {"lstm": 8, "dense": 16},
            "autoencoder": {"max_epochs": 2, "model": {"encoder_sizes": [16], "decoder_sizes": [16]}}}
    losses = {}
    for workers in (0, 2):
        run = train_system(load_train_config("fast", {**tiny, "workers": workers}), feats,
                           tmp_path / "runs" / f"workers{workers}", show_progress=False)
        assert json.loads((run / "summary.json").read_text())["hardware"]["workers"] == workers
        rows = csv.DictReader((run / "metrics.csv").open())
        losses[workers] = [float(r["train_loss"]) for r in rows if r.get("train_loss")]
    assert len(losses[0]) == 3 and losses[2] == losses[0]
