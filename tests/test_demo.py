"""`lip2speech demo --quick` end to end: every stage runs and the report holds this run's numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lip2speech.cli import app
from lip2speech.experiments.report import table_header
from test_report import _Collect  # the HTML parser of the report tests


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path):
    start = time.time()
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    html_path = out / "experiments" / "report.html"
    assert f"Open the report: {html_path.resolve()}" in result.output  # the last lines say what to open
    assert f"Everything it made is in {out.resolve()}" in result.output
    # synthetic runs: no published GRID values beside them, in the terminal or the report
    assert "Multi-speaker" in result.output and "corr2 train (published)" not in result.output

    parser = _Collect()
    parser.feed(html_path.read_text())
    assert parser.links and all(link.startswith("data:") or link[1:] in parser.ids for link in parser.links)
    kinds = {link.split(";", 1)[0] for link in parser.links}
    assert {"data:image/png", "data:audio/wav", "data:video/mp4"} <= kinds

    header = table_header(published=False)
    tables = [t[1:] for t in parser.tables if t and t[0] == header]
    col = {h: i for i, h in enumerate(header)}
    assert len(tables) == 4  # in the report's order
    for kind, table in zip(("single", "intelligibility", "multi", "vocabulary"), tables):
        results = json.loads((out / "experiments" / kind / "results.json").read_text())
        assert len(table) == len(results["rows"])
        for cells, row in zip(table, results["rows"]):
            assert "error" not in row, row.get("error")
            # the number in the report is the one this run's evaluation wrote
            if not row.get("aggregate"):
                summary_path = out / "experiments" / row["run"] / "eval-test" / "summary.json"
                assert summary_path.stat().st_mtime >= start
                summary = json.loads(summary_path.read_text())
                sentence = row["metrics"]["corr2_sentence" if kind == "vocabulary" else "corr2"]
                assert sentence["mean"] == summary["metrics"]["corr2"]["mean"]
            assert cells[col["corr2 test (ours)"]] == f"{row['metrics']['corr2']['mean']:.3f}"
    # the intelligibility speaker (s3 of the quick demo): every test utterance recognised, gu2s paired with each
    words = json.loads((out / "experiments" / "intelligibility" / "results.json").read_text())
    assert {r["condition"] for r in words["rows"]} == {"s3", "all speakers"}
    assert [r["system"] for r in words["paired"]["rows"]] == ["gf2s", "gp2s", "lip2audspec"]
    n_test = {r["n_test"] for r in words["rows"] if not r.get("aggregate")}
    assert n_test == {words["paired"]["rows"][0]["metrics"]["wacc"]["n"]}  # words on every test utterance
    assert "gu2s minus each system, paired per test utterance" in result.output
    multi = json.loads((out / "experiments" / "multi" / "results.json").read_text())
    got = {(r["system"], r["n_speakers"]): r["published_train"] for r in multi["rows"]}
    assert {k: v for k, v in got.items() if k[0] != "gu2s"} == {
        ("gf2s", 1): 0.72, ("gf2s", 2): 0.68, ("gp2s", 1): 0.73, ("gp2s", 2): 0.72,
        ("lip2audspec", 1): 0.63, ("lip2audspec", 2): 0.40}
    assert got[("gu2s", 1)] is None and got[("gu2s", 2)] is None  # ours only: nothing published

    from lip2speech.training.shipped import shipped_models

    if "grid-s1" in shipped_models():  # the real-GRID section: the shipped model on the packaged s1 clips
        real = json.loads((out / "experiments" / "real-grid" / "results.json").read_text())
        assert len(real["rows"]) == 2 and all(len(r["hyp_lips"].split()) == 6 for r in real["rows"])
        assert "Real GRID" in html_path.read_text() and "read from the lips" in result.output
        assert parser.headings[1].startswith("Real GRID")  # after the front page's "Results": real GRID first
    # the front page: what ran on what data, glossary, contents
    assert {"GF2S", "gu2s", "grid-s1", "STOI", "ESTOI", "PESQ"} <= set(parser.terms)
    assert "2 speakers x 8 utterances and 1 speaker x 10 utterances" in html_path.read_text()
    assert [l for l in parser.links if l.startswith("#")]
    assert json.loads((out / "experiments" / "about.json").read_text())["synthetic"]["experiments"] == [
        "single", "multi", "vocabulary", "intelligibility"]


def _size_of(monkeypatch, args: list[str]):
    """The DemoSize `lip2speech demo ARGS` would run (run_demo replaced), or the failed result."""
    import lip2speech.experiments.demo as demo

    got = {}
    monkeypatch.setattr(demo, "run_demo", lambda out, size, jobs=None, log=print: got.update(size=size, jobs=jobs))
    result = CliRunner().invoke(app, ["demo", *args])
    result.jobs = got.get("jobs")
    return got.get("size"), result


def test_default_demo_is_the_first_visit_and_full_is_one_option_away(monkeypatch):
    from lip2speech.experiments.demo import FULL, QUICK, DemoSize

    size, result = _size_of(monkeypatch, [])
    assert result.exit_code == 0 and size == DemoSize()
    assert result.jobs is None  # --jobs 0 (default): run_demo takes all cores
    assert size.real_grid and "gu2s" in size.systems and size.experiments == ("single",)
    assert size.utterance_counts() == [50] and size.waveform_utterances is None  # words on every test utterance
    size, _ = _size_of(monkeypatch, ["--full"])
    assert size == FULL and set(size.experiments) == {"single", "multi", "vocabulary"}
    assert size.words_utterances == 100 and len(size.systems) == 4
    size, _ = _size_of(monkeypatch, ["--quick"])
    assert size == QUICK
    _, result = _size_of(monkeypatch, ["--full", "--quick"])
    assert result.exit_code != 0


def test_demo_counts_synthetic_speakers_with_n_speakers(monkeypatch):
    size, result = _size_of(monkeypatch, ["--n-speakers", "2", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert (size.speakers, size.single_speakers, size.speaker_counts) == (2, 2, (1, 2))
    size, _ = _size_of(monkeypatch, ["--full", "--n-speakers", "4"])
    assert (size.speakers, size.single_speakers, size.speaker_counts) == (4, 2, (1, 2, 3, 4))
    size, _ = _size_of(monkeypatch, ["--full", "--n-speakers", "1"])
    assert (size.speakers, size.single_speakers, size.speaker_counts) == (1, 1, (1,))
    _, result = _size_of(monkeypatch, ["--speakers", "2"])  # elsewhere --speakers is a list of names
    assert result.exit_code != 0
