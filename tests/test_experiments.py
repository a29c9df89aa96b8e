"""Experiment specs, published values, and the results tables (training and evaluation stubbed out)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lip2speech.experiments import experiment as X
from lip2speech.errors import Lip2SpeechError
from lip2speech.models.systems import PUBLISHED_SYSTEMS

DOC = Path(__file__).resolve().parents[1].parent / "shared" / "docs" / "seed-systems.md"


def test_every_experiment_yaml_loads_and_names_its_base():
    for name in ("single", "multi", "vocabulary"):
        text = (X.EXPERIMENTS_DIR / f"{name}.yaml").read_text()
        assert re.search(r"^base: base.yaml$", text, re.M)
        spec = X.load_spec(name)
        assert spec.experiment == name and spec.systems == PUBLISHED_SYSTEMS
    assert X.load_spec("multi").speaker_counts == (1, 2, 4, 6, 8)
    with pytest.raises(Lip2SpeechError, match="unknown experiment"):
        X.load_spec("nonsense")
    with pytest.raises(Lip2SpeechError, match="unknown systems"):
        X.load_spec("single", {"systems": ["gf3s"]})


def test_published_values_match_the_specification_document():
    if not DOC.is_file():
        pytest.skip(f"specification not found at {DOC}")
    text = DOC.read_text()
    single = re.search(r"GP2S (\d\.\d+), GF2S (\d\.\d+), Lip2AudSpec (\d\.\d+)", text).groups()
    assert [X.HEADLINE["single"][s] for s in ("gp2s", "gf2s", "lip2audspec")] == [float(v) for v in single]
    for label, system in (("GF2S", "gf2s"), ("GP2S", "gp2s"), ("Lip2AudSpec", "lip2audspec")):
        m = re.search(rf"{label} " + ", ".join([r"(\d\.\d+)"] * 5), text)
        assert [v["train"] for v in X.PUBLISHED["multi"][system].values()] == [float(v) for v in m.groups()]
        assert all(v["test"] is None for v in X.PUBLISHED["multi"][system].values())  # none published
    vocab = re.search(r"GP2S (\d\.\d+), GF2S (\d\.\d+) on average", text).groups()
    assert [X.HEADLINE["vocabulary"]["gp2s"], X.HEADLINE["vocabulary"]["gf2s"]] == [float(v) for v in vocab]


def test_published_train_and_test_values_match_the_spreadsheet_table():
    if not DOC.is_file():
        pytest.skip(f"specification not found at {DOC}")
    table = DOC.read_text().split("What the published numbers are")[1]
    names = {"Lip2AudSpec": "lip2audspec", "GP2S": "gp2s", "GF2S": "gf2s"}
    speakers = ("s1", "s16", "s25", "s27")
    seen = 0
    for label, system in names.items():
        m = re.search(rf"\| {label} \| (\d\.\d+) \((.*?)\) \| (\d\.\d+) \((.*?)\) \|", table)
        pub = X.PUBLISHED["single"][system]
        assert pub["mean"] == {"train": float(m.group(1)), "test": float(m.group(3))}
        for col, kind in ((2, "train"), (4, "test")):
            values = dict(re.findall(r"(s\d+) (\d\.\d+)", m.group(col)))
            assert {s: pub[s][kind] for s in speakers} == {s: float(values[s]) for s in speakers}
            seen += 1
        v = re.search(rf"\| {label} \| (\d\.\d+) \| (\d\.\d+) \|", table)
        if v:
            assert X.PUBLISHED["vocabulary"][system]["mean"] == {"train": float(v.group(1)), "test": float(v.group(2))}
    assert seen == 6 and "lip2audspec" not in X.PUBLISHED["vocabulary"]
    assert X.published("single", "gf2s", "s1") == {"train": 0.679, "test": 0.328}
    assert X.published("single", "gf2s", "s2") == {"train": None, "test": None}
    assert X.published("vocabulary", "gp2s", "s1+s2") == {"train": 0.737, "test": 0.618}


def test_conditions_and_run_folders():
    spk = [f"s{i}" for i in range(1, 11)]
    multi = X.conditions(X.load_spec("multi"), spk)
    assert [len(s) for _, s in multi] == [1, 2, 4, 6, 8]
    assert multi[2][1] == ("s1", "s2", "s3", "s4")
    single = X.conditions(X.load_spec("single", {"speakers": ["s2", "s10"]}), spk)
    assert single == [("s2", ("s2",)), ("s10", ("s10",))]
    with pytest.raises(Lip2SpeechError, match="speakers not in the features folder: s16"):
        X.conditions(X.load_spec("single"), spk)
    assert X.run_tag(("s1",)) == "s1" and X.run_tag(tuple(spk[:8])) == "n8-s1..s8"


def test_train_config_uses_the_per_system_file_when_present():
    spec = X.load_spec("multi", {"train": "fast"})
    gp = X.train_config_for(spec, "gp2s", ["s1", "s2"])
    gf = X.train_config_for(spec, "gf2s", ["s1"])
    assert gp.system == "gp2s" and gp.model.get("filters") == 4 and gp.speakers == ("s1", "s2")
    assert gf.system == "gf2s" and "filters" not in gf.model


@pytest.fixture()
def stubbed(tmp_path, monkeypatch):
    """Features with 8 speakers; training writes nothing but a folder, evaluation a known summary."""
    from lip2speech.evaluation import eval_folder, evaluate, scoring
    from lip2speech.training import train
    from lip2speech.data.features import synthetic_features

    synthetic_features(tmp_path / "features", speakers=8, utterances=2, seed=0, frames=10, gp_shape=(4, 8), face=8)
    trained = []

    def fake_train(cfg, features_dir, out_dir, resume=True, show_progress=True):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return Path(out_dir)

    def fake_evaluate(run_dir, split, opts, corpus=None, show_progress=True, **_):
        tag = Path(run_dir).parent.name  # 's1', 's1+s2' or 'n6-s1..s6'
        n = int(tag[1:tag.index("-")]) if tag.startswith("n") else len(tag.split("+"))
        value = 0.05 * n + 0.01 * PUBLISHED_SYSTEMS.index(Path(run_dir).name.split("-")[0]) + (0.1 if split == "train" else 0)
        rows = [{"key": f"k{i}", "corr2": value + d, **{m: np.nan for m in scoring.METRICS if m != "corr2"}}
                for i, d in enumerate((-0.01, 0.01))]
        out = Path(run_dir) / f"eval-{split}"
        out.mkdir(parents=True, exist_ok=True)
        (out / "per_utterance.csv").write_text(eval_folder.csv_text(rows))
        (out / "summary.json").write_text(json.dumps({"n": 2, "metrics": scoring.summarise(rows)}))
        words = [{"key": "k0", "word": w, "corr2": value + 0.5 + d} for w, d in (("bin", 0.0), ("blue", 0.1))]
        (out / "per_word.csv").write_text(eval_folder.csv_text(words, ("key", "word", "corr2")))
        return out

    def fake_train_with_task(cfg, features_dir, out_dir, resume=True, show_progress=True):
        trained.append((cfg.system, cfg.speakers, cfg.task, Path(out_dir).name))
        return fake_train(cfg, features_dir, out_dir, resume, show_progress)

    monkeypatch.setattr(train, "train_system", fake_train_with_task)
    monkeypatch.setattr(evaluate, "evaluate_run", fake_evaluate)
    return tmp_path, trained


def test_multi_results_list_every_system_and_count_beside_the_published_value(stubbed):
    tmp, trained = stubbed
    path = X.run_experiment("multi", tmp / "features", tmp / "out", log=lambda s: None)
    result = json.loads(path.read_text())
    rows = {(r["system"], r["n_speakers"]): r for r in result["rows"]}
    assert set(rows) == {(s, n) for s in PUBLISHED_SYSTEMS for n in (1, 2, 4, 6, 8)}
    for (system, n), row in rows.items():
        assert row["published_train"] == X.PUBLISHED["multi"][system][n]["train"] and row["published_test"] is None
        assert row["metrics"]["corr2"]["mean"] == pytest.approx(0.05 * n + 0.01 * PUBLISHED_SYSTEMS.index(system))
        assert row["train_metrics"]["corr2"]["mean"] == pytest.approx(0.05 * n + 0.01 * PUBLISHED_SYSTEMS.index(system) + 0.1)
        assert row["n_test"] == 2
    assert len(trained) == 15
    table = (tmp / "out" / "multi" / "table.md").read_text()
    assert table.count("| lip2audspec |") == 5 and "0.29" in table


def test_single_adds_a_pooled_row_per_system_and_shares_runs(stubbed):
    tmp, trained = stubbed
    path = X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1", "s2"], log=lambda s: None)
    result = json.loads(path.read_text())
    pooled = [r for r in result["rows"] if r.get("aggregate")]
    assert [r["system"] for r in pooled] == list(PUBLISHED_SYSTEMS)
    assert [r["published_train"] for r in pooled] == [0.714, 0.729, 0.633]  # the mean over the study's speakers
    assert [r["published_test"] for r in pooled] == [0.352, 0.398, 0.525]
    gf = pooled[0]["metrics"]["corr2"]
    assert gf["n"] == 4 and gf["mean"] == pytest.approx(0.05)  # s1 and s2 runs: 0.05 each
    assert pooled[0]["train_metrics"]["corr2"]["mean"] == pytest.approx(0.15)
    per_speaker = {(r["system"], r["condition"]): r for r in result["rows"] if not r.get("aggregate")}
    assert all(r["published_train"] is None and r["published_test"] is None  # none published for s2
               for (_, c), r in per_speaker.items() if c == "s2")
    assert (per_speaker["gf2s", "s1"]["published_train"], per_speaker["gf2s", "s1"]["published_test"]) == (0.679, 0.328)
    n_before = len(trained)
    X.run_experiment("multi", tmp / "features", tmp / "out", speakers=["s1", "s2"], speaker_counts=[1, 2],
                     log=lambda s: None)
    assert sorted({p.name for p in (tmp / "out" / "runs").iterdir()}) == ["s1", "s1+s2", "s2"]
    assert len(trained) - n_before == 6  # train_system itself skips finished runs


def test_experiment_and_report_commands(stubbed):
    from typer.testing import CliRunner

    from lip2speech.cli import app

    tmp, _ = stubbed
    runner = CliRunner()
    res = runner.invoke(app, ["experiment", "multi", "--features", str(tmp / "features"), "--out", str(tmp / "out"),
                              "--speaker-counts", "1,2", "--systems", "gf2s,gp2s", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "Multi-speaker" in res.output and "0.68" in res.output and "lip2audspec" not in res.output.split("Multi")[1]
    res = runner.invoke(app, ["report", str(tmp / "out")])
    assert res.exit_code == 0 and (tmp / "out" / "report.html").is_file()
    res = runner.invoke(app, ["experiment", "nonsense", "--features", str(tmp / "features"), "--out", str(tmp)])
    assert res.exit_code != 0 and "unknown experiment" in str(res.exception)


def test_parallel_training_trains_every_run_once(stubbed, capsys):
    tmp, _ = stubbed
    logs: list[str] = []
    path = X.run_experiment("multi", tmp / "features", tmp / "out", speaker_counts=[1, 2], jobs=2,
                            show_progress=False, log=logs.append)
    result = json.loads(path.read_text())
    assert len(result["rows"]) == 6 and not [r for r in result["rows"] if "error" in r]
    assert sorted(p.name for p in (tmp / "out" / "runs").iterdir()) == ["s1", "s1+s2"]
    phases = [l for l in logs if l.startswith("training ")]
    assert len(phases) == 2 and phases[0].startswith("training 2 run(s)") and phases[1].startswith("training 4 run(s)")


def test_vocabulary_trains_words_runs_in_their_own_folders(stubbed):
    tmp, trained = stubbed
    assert X.load_spec("vocabulary").train_overrides == {"task": "words"}
    X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1"], log=lambda s: None)
    assert {t[2] for t in trained} == {"sentence"}
    n_before = len(trained)
    path = X.run_experiment("vocabulary", tmp / "features", tmp / "out", log=lambda s: None)
    words = trained[n_before:]  # the sentence runs of s1 are not reused for the words task
    assert sorted(words) == sorted((s, ("s1",), "words", f"{s}-words") for s in PUBLISHED_SYSTEMS)
    result = json.loads(path.read_text())
    assert "trained on word segments" in result["note"] and set(result["words"]) == {"bin", "blue"}
    for row in result["rows"]:
        sentence = 0.05 + 0.01 * PUBLISHED_SYSTEMS.index(row["system"])
        assert row["run"] == f"runs/s1/{row['system']}-words"
        assert row["metrics"]["corr2"]["mean"] == pytest.approx(sentence + 0.55)  # mean of the per-word rows
        assert row["metrics"]["corr2_sentence"]["mean"] == pytest.approx(sentence)
        pub = X.PUBLISHED["vocabulary"].get(row["system"], {}).get("mean", {})
        assert (row["published_train"], row["published_test"]) == (pub.get("train"), pub.get("test"))
        assert row["train_metrics"]["corr2"]["mean"] == pytest.approx(sentence + 0.65)  # per word, training split


def test_tables_print_ours_and_published_on_test_and_train(stubbed):
    from lip2speech.experiments.report import TABLE_NOTE

    tmp, _ = stubbed
    path = X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1"], log=lambda s: None)
    lines: list[str] = []
    X.print_results(path, log=lines.append)
    text = "\n".join(lines)
    header = text.splitlines()[1]
    cols = ["corr2 test (ours)", "corr2 train (ours)", "corr2 test (published)", "corr2 train (published)"]
    assert [header.index(c) for c in cols] == sorted(header.index(c) for c in cols)
    gf_s1 = next(l for l in text.splitlines() if l.startswith("gf2s") and " s1 " in l).split()
    assert [gf_s1[4], *gf_s1[7:10]] == ["0.050", "0.150", "0.328", "0.679"]  # ours test, train; published
    pooled = next(l for l in text.splitlines() if l.startswith("lip2audspec") and "all speakers" in l)
    assert "0.525" in pooled and "0.633" in pooled
    assert TABLE_NOTE in text and TABLE_NOTE in (tmp / "out" / "single" / "table.md").read_text()


def test_variants_train_in_their_own_run_folders_and_tables(stubbed):
    tmp, trained = stubbed
    X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1"], systems=["gf2s"], log=lambda s: None)
    path = X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1"], systems=["gf2s", "gp2s"],
                            train_overrides={"gf_input": "frames", "split_protocol": "study"},
                            label="single-frames", log=lambda s: None)
    result = json.loads(path.read_text())
    assert path.parent.name == "single-frames" and result["label"] == "single-frames"
    assert [r["run"] for r in result["rows"] if not r.get("aggregate")] == [
        "runs/s1/gf2s-frames-study-split", "runs/s1/gp2s-study-split"]  # gf_input is GF2S's only
    assert json.loads((tmp / "out" / "single" / "results.json").read_text())["rows"][0]["run"] == "runs/s1/gf2s"
    shuffled = X.run_experiment("single", tmp / "features", tmp / "out", speakers=["s1"], systems=["gf2s"],
                                train_overrides={"shuffle_lips": True}, label="controls", log=lambda s: None)
    control = json.loads(shuffled.read_text())["rows"][0]
    assert control["run"] == "runs/s1/gf2s-shuffled" and control["published_train"] is None  # no such study run
    assert result["rows"][0]["published_test"] == 0.328  # the GF2S input variant is still GF2S on s1
    assert len(trained) == 4
    from lip2speech.experiments.report import load_results

    assert [r.get("label") for r in load_results(tmp / "out")] == [None, "controls", "single-frames"]


def test_paired_rows_take_gu2s_minus_each_system_on_the_utterances_both_scored():
    def rows(values: dict[str, float]) -> list[dict]:
        return [{"key": k, "wacc": v, "stoi": v / 2, "estoi": np.nan, "corr2": 0.5} for k, v in values.items()]

    per_utterance = {"gu2s": rows({"s1/a": 1.0, "s1/b": 0.5, "s2/a": 0.5}),
                     "gf2s": rows({"s1/a": 0.5, "s1/b": 0.5, "s2/a": 0.0, "s2/z": 1.0})}
    paired = X.paired_rows(per_utterance)
    assert paired["reference"] == "gu2s" and [r["system"] for r in paired["rows"]] == ["gf2s"]
    row = paired["rows"][0]
    assert row["n"] == 3  # s2/z has no gu2s score
    wacc = row["metrics"]["wacc"]
    assert wacc["mean"] == pytest.approx(1 / 3) and (wacc["wins"], wacc["ties"], wacc["losses"]) == (2, 1, 0)
    assert row["metrics"]["stoi"]["mean"] == pytest.approx(1 / 6)
    assert row["metrics"]["corr2"]["ties"] == 3 and row["metrics"]["estoi"]["n"] == 0
    with pytest.raises(Lip2SpeechError, match="same utterance key twice"):
        X.paired_rows({"gu2s": rows({"k": 1.0}) * 2, "gf2s": rows({"k": 0.0})})
