"""`lip2speech demo --quick` end to end: every stage runs and the report holds this run's numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lip2speech.cli import app
from lip2speech.experiments.report import TABLE_HEADER
from test_report import _Collect  # the HTML parser of the report tests


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path):
    start = time.time()
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    html_path = out / "experiments" / "report.html"
    assert f"report: {html_path.resolve()}" in result.output
    assert "Multi-speaker" in result.output and "corr2 train (published)" in result.output

    parser = _Collect()
    parser.feed(html_path.read_text())
    assert parser.links and all(link.startswith("data:") for link in parser.links)
    kinds = {link.split(";", 1)[0] for link in parser.links}
    assert {"data:image/png", "data:audio/wav", "data:video/mp4"} <= kinds

    tables = [t[1:] for t in parser.tables if t and t[0] == list(TABLE_HEADER)]
    col = {h: i for i, h in enumerate(TABLE_HEADER)}
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
