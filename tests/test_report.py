"""The HTML report is self-contained and its tables hold exactly the numbers of the results files."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from lip2speech.errors import Lip2SpeechError
from lip2speech.experiments.report import TABLE_HEADER, build_report, fmt, load_results, summary_text

from lip2speech.models.systems import PUBLISHED_SYSTEMS as SYSTEMS


class _Collect(HTMLParser):
    """Collects every src/href attribute and the cells of every table."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.ids: list[str] = []
        self.headings: list[str] = []  # text of every h2, in page order
        self.terms: list[str] = []  # every <dt>
        self._cell: list[str] | None = None
        self._text: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag in ("h2", "dt"):
            self._text = (tag, [])
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self._text is not None and tag == self._text[0]:
            (self.headings if tag == "h2" else self.terms).append("".join(self._text[1]))
            self._text = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._text is not None:
            self._text[1].append(data)
        if self._cell is not None:
            self._cell.append(data)


def _summary(rng: np.random.Generator, n: int = 20) -> dict:
    mean = float(rng.uniform(0.2, 0.8))
    return {"mean": mean, "ci_low": mean - 0.05, "ci_high": mean + 0.05, "std": 0.1, "n": n}


def _write_sample(path: Path, rng: np.random.Generator, with_video: bool) -> None:
    """A sample as evaluation writes it (eval_folder.write_sample: npz, and an MP4 from the face crops)."""
    from lip2speech.evaluation.eval_folder import write_sample

    t = np.arange(8000 * 1) / 8000
    item = {"aud": rng.random((125, 128)), "words": "bin blue at f two now".split(), "fs": 8000}
    if with_video:
        item["lips"] = {"faces": rng.integers(0, 255, (25, 16, 22), dtype=np.uint8), "fps": 25.0}
    row = {"corr2": 0.5, "corr2_ae": 0.9, "wav_ref": np.sin(2 * np.pi * 220 * t),
           "wav_pred": rng.standard_normal(t.size) * 0.1}
    assert write_sample(path.parent, path.stem, item, row, rng.random((125, 128)), rng.random((125, 128))) == path


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("experiments")
    rng = np.random.default_rng(0)
    published_multi = {"gf2s": [0.72, 0.68, 0.71], "gp2s": [0.73, 0.72, 0.56], "lip2audspec": [0.63, 0.40, 0.39]}
    for kind in ("single", "multi"):
        (root / kind).mkdir()
        rows, samples = [], {}
        for system in SYSTEMS:
            for i, n in enumerate((1, 2, 4)):
                rows.append({"system": system, "condition": f"{n} speakers", "n_speakers": n,
                             "metrics": {m: _summary(rng) for m in ("corr2", "corr2_ae", "stoi", "estoi", "pesq", "wacc", "wacc_orig")},
                             "published_corr2": published_multi[system][i] if kind == "multi" else None})
            sample = root / kind / "runs" / system / "bbaf2n.npz"
            sample.parent.mkdir(parents=True)
            _write_sample(sample, rng, with_video=(kind == "single" and system == "gf2s"))
            samples[system] = str(sample.relative_to(root / kind))
        rows[0]["metrics"]["pesq"]["mean"] = float("nan")  # a NaN must show as a dash
        rows.append({"system": "gf2s", "condition": "8 speakers", "n_speakers": 8, "metrics": {},
                     "published_corr2": 0.61, "error": "run folder was trained with another configuration"})
        result = {"experiment": kind, "created": "2026-01-01T00:00:00", "rows": rows,
                  "samples": [{"key": "bbaf2n", "condition": "1 speaker", "systems": samples}]}
        (root / kind / "results.json").write_text(json.dumps(result))
    return root


@pytest.fixture(scope="module")
def report(results_dir):
    html_path, md_path = build_report(results_dir)
    parser = _Collect()
    parser.feed(html_path.read_text())
    return html_path, md_path, parser


def test_report_is_self_contained(report):
    html_path, _, parser = report
    assert parser.links, "no embedded media found"
    # media embedded; the only other links are the contents' links to the page's own sections
    assert not [l for l in parser.links if not l.startswith("data:") and l[1:] not in parser.ids], "outside links"
    text = html_path.read_text()
    assert "http://" not in text and "https://" not in text
    kinds = {l.split(";", 1)[0] for l in parser.links}
    assert {"data:image/png", "data:audio/wav", "data:video/mp4"} <= kinds


def test_report_tables_equal_the_results_files(report, results_dir):
    _, _, parser = report
    tables = [t for t in parser.tables if t and t[0] == list(TABLE_HEADER)]
    results = load_results(results_dir)
    assert len(tables) == len(results) == 2
    col = {h: i for i, h in enumerate(TABLE_HEADER)}
    for table, result in zip(tables, results):
        body = table[1:]
        assert len(body) == len(result["rows"])
        for cells, row in zip(body, result["rows"]):
            assert cells[col["System"]] == row["system"]
            if row.get("error"):  # a failed run: no numbers
                assert cells[col["corr2 test (ours)"]] == cells[col["STOI"]] == "–"
                continue
            assert cells[col["corr2 test (ours)"]] == f"{row['metrics']['corr2']['mean']:.3f}"
            assert cells[col["STOI"]] == f"{row['metrics']['stoi']['mean']:.3f}"
            # these rows hold the one `published_corr2` of results files from before train and test were kept:
            # the study's training-set value
            expected_pub = "–" if row["published_corr2"] is None else f"{row['published_corr2']:.2f}"
            assert cells[col["corr2 train (published)"]] == expected_pub
            assert cells[col["corr2 test (published)"]] == cells[col["corr2 train (ours)"]] == "–"
            pesq = row["metrics"]["pesq"]["mean"]
            assert cells[col["PESQ"]] == ("–" if np.isnan(pesq) else f"{pesq:.3f}")


def test_markdown_version_has_the_same_tables_and_its_assets_exist(report, results_dir):
    _, md_path, _ = report
    md = md_path.read_text()
    for result in load_results(results_dir):
        for row in result["rows"]:
            if not row.get("error"):
                assert fmt(row["metrics"]["corr2"]["mean"]) in md
    links = [l.split(")")[0] for l in md.split("](")[1:]]
    anchors = [l for l in links if l.startswith("#")]  # the contents
    from lip2speech.experiments.report_page import slug

    headings = {slug(line[3:]) for line in md.splitlines() if line.startswith("## ")}
    assert anchors and {a[1:] for a in anchors} <= headings
    files = [l for l in links if not l.startswith("#")]
    assert files and all((md_path.parent / l).is_file() for l in files)


def test_failed_runs_are_listed_with_their_reason(report):
    html_path, md_path, _ = report
    for text in (html_path.read_text(), md_path.read_text()):
        assert "Failed: gf2s 8 speakers: run folder was trained with another configuration" in text


def test_missing_results_is_a_clear_error(tmp_path):
    with pytest.raises(Lip2SpeechError, match="no results.json"):
        build_report(tmp_path)


def test_summary_text_lists_every_row(results_dir):
    text = summary_text(load_results(results_dir))
    assert text.count("lip2audspec") == 6 and "0.63" in text


def test_tables_show_ours_and_published_on_test_and_train_with_a_note(tmp_path):
    from lip2speech.experiments.report import TABLE_NOTE, table_rows

    rng = np.random.default_rng(1)
    row = {"system": "gf2s", "condition": "s1", "n_speakers": 1, "n_test": 80,
           "metrics": {"corr2": _summary(rng, 80)}, "train_metrics": {"corr2": _summary(rng, 288)},
           "published_train": 0.679, "published_test": 0.328}
    result = {"experiment": "single", "label": "single-frames", "rows": [row, {**row, "system": "gp2s",
              "published_train": 0.4, "published_test": None}]}
    (tmp_path / "single-frames").mkdir()
    (tmp_path / "single-frames" / "results.json").write_text(json.dumps(result))
    col = {h: i for i, h in enumerate(TABLE_HEADER)}
    cells = table_rows(result)
    assert cells[0][col["corr2 test (ours)"]] == f"{row['metrics']['corr2']['mean']:.3f}"
    assert cells[0][col["corr2 train (ours)"]] == f"{row['train_metrics']['corr2']['mean']:.3f}"
    assert (cells[0][col["corr2 test (published)"]], cells[0][col["corr2 train (published)"]]) == ("0.328", "0.679")
    assert (cells[1][col["corr2 test (published)"]], cells[1][col["corr2 train (published)"]]) == ("–", "0.40")
    html_path, md_path = build_report(tmp_path)
    import html

    for text, note in ((html_path.read_text(), html.escape(TABLE_NOTE)), (md_path.read_text(), TABLE_NOTE)):
        assert note in text and "Single speaker — single-frames" in text
    assert TABLE_NOTE in summary_text(load_results(tmp_path))


def test_speakers_figure_draws_ours_on_train_beside_test_and_published():
    from lip2speech.experiments.plots import speakers_figure

    ours = {"gf2s": [(1, 0.5, 0.45, 0.55), (2, 0.45, 0.4, 0.5)]}
    png = speakers_figure(ours, {"gf2s": {1: 0.72, 2: 0.68}}, ours_train={"gf2s": {1: 0.6, 2: 0.55}})
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png != speakers_figure(ours, {"gf2s": {1: 0.72, 2: 0.68}})


def test_a_paired_comparison_is_a_table_in_the_report_the_markdown_and_the_summary(tmp_path):
    from lip2speech.experiments.experiment import paired_rows, write_table
    from lip2speech.experiments.report import PAIRED_NOTE

    keys = [f"s1/u{i}" for i in range(6)]
    per_utt = {s: [{"key": k, "wacc": v + (0.5 if s == "gu2s" else 0.0), "stoi": 0.5, "estoi": 0.25, "corr2": 0.7}
                   for k, v in zip(keys, (0.0, 0.1, 0.2, 0.0, 0.1, 0.3))] for s in ("gf2s", "gu2s")}
    rng = np.random.default_rng(0)
    row = {"system": "gu2s", "condition": "s1", "n_speakers": 1, "n_test": 6, "metrics": {"corr2": _summary(rng, 6)}}
    result = {"experiment": "single", "label": "intelligibility", "rows": [row], "paired": paired_rows(per_utt)}
    (tmp_path / "intelligibility").mkdir()
    (tmp_path / "intelligibility" / "results.json").write_text(json.dumps(result))
    write_table(result, tmp_path / "intelligibility" / "table.md")
    html_path, md_path = build_report(tmp_path)
    summary = summary_text(load_results(tmp_path))
    for text in (html_path.read_text(), md_path.read_text(), summary, (tmp_path / "intelligibility" / "table.md").read_text()):
        assert "gu2s minus each system, paired per test utterance" in text
        assert "+0.500" in text and "6 / 0 / 0" in text  # gu2s 0.5 better on each of the 6 utterances
    assert PAIRED_NOTE in summary and PAIRED_NOTE in md_path.read_text()


def _real_grid_result() -> dict:
    rows = [{"key": f"s1/{k}", "words": "bin blue at f five again", "hyp_lips": "bin blue at f five again",
             "hyp": "bin blue at f two again", "hyp_orig": "bin blue at f five again", "corr2": 0.75, "stoi": 0.6,
             "estoi": 0.4, "pesq": 1.9, "wacc": w, "wacc_orig": 1.0, "wacc_lips": 1.0}
            for k, w in (("bbaf5a", 5 / 6), ("bbaszn", 4 / 6))]
    card = {"metrics": {"corr2": 0.762, "stoi": 0.525, "wacc": 0.71, "wacc_lips": 0.856}, "n": 80,
            "train_corr2": 0.867}
    return {"experiment": "real-grid", "model": "grid-s1", "attribution": "GRID (CC BY 4.0)", "rows": rows,
            "samples": [], "card": card}


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory, results_dir) -> Path:
    """An experiment folder as the demo writes it: synthetic experiments, real GRID and about.json."""
    import shutil

    root = tmp_path_factory.mktemp("demo") / "experiments"
    shutil.copytree(results_dir, root)
    (root / "real-grid").mkdir()
    (root / "real-grid" / "results.json").write_text(json.dumps(_real_grid_result()))
    about = {"synthetic": {"speakers": 1, "utterances": [50], "seed": 0, "systems": ["gf2s", "gu2s"],
                           "experiments": ["single"]}, "real_grid": True}
    (root / "about.json").write_text(json.dumps(about))
    return root


def test_front_page_has_headline_glossary_contents_and_real_grid_first(demo_like):
    from lip2speech.experiments.report_front import GLOSSARY

    html_path, md_path = build_report(demo_like, title="lip2speech demo")
    parser = _Collect()
    parser.feed(html_path.read_text())
    text, md = html_path.read_text(), md_path.read_text()
    # glossary: every term, in HTML (a definition list) and Markdown
    assert [t for t, _ in GLOSSARY] == parser.terms[-len(GLOSSARY):]
    for term in ("GF2S", "GP2S", "Lip2AudSpec", "gu2s", "grid-s1", "corr2", "STOI", "ESTOI", "PESQ", "Word acc.",
                 "Word acc. (lips)"):
        assert term in parser.terms and f"- **{term}**:" in md
    # what ran and on what data
    assert "1 speaker x 50 utterances" in text and "2 clips of speaker s1" in text
    assert "lip2speech demo --full" in text  # the full study is one option away
    # the contents link every section, in page order, and the real GRID section comes first
    sections = [h for h in parser.headings if h not in ("Results",)]
    toc = [l[1:] for l in parser.links if l.startswith("#")]
    assert toc and [parser.ids[parser.ids.index(a)] for a in toc] == toc
    assert sections[0].startswith("Real GRID") and all("(synthetic corpus)" in h for h in sections[1:])
    assert text.index("Real GRID: the shipped model") < text.index("Single speaker (synthetic corpus)")
    for title in sections:
        assert f"[{title}](#" in md
    # the headline: one sentence and one table, real GRID rows first
    assert "word accuracy 0.750 on the 2 packaged clips" in text
    head = parser.tables[0]
    assert head[0][:2] == ["Data", "System"] and head[1][0].startswith("real GRID s1")
    assert head[2][0].startswith("real GRID s1, its 80 held-out") and head[3][0].startswith("synthetic corpus")


def test_no_published_grid_numbers_beside_synthetic_runs(demo_like):
    from lip2speech.experiments.report import PUBLISHED_COLUMNS, table_header

    html_path, md_path = build_report(demo_like)
    parser = _Collect()
    parser.feed(html_path.read_text())
    assert not [t for t in parser.tables if t and t[0] == list(TABLE_HEADER)]
    synth = [t for t in parser.tables if t and t[0] == table_header(False)]
    assert len(synth) == 2 and not set(PUBLISHED_COLUMNS) & set(synth[0][0])
    published = {"0.72", "0.68", "0.71", "0.73", "0.56", "0.63", "0.40", "0.39", "0.61"}
    for table in synth:
        assert not published & {c for row in table for c in row}
    # the published GRID values stand beside the shipped model's real-GRID scores instead
    beside = next(t for t in parser.tables if t and t[0][:2] == ["System", "Trained on"])
    assert beside[1][:1] == ["grid-s1 (gu2s, ours)"] and beside[1][3] == "0.762"
    assert {r[0]: r[3] for r in beside[2:]} == {"Lip2AudSpec (published)": "0.567", "GP2S (published)": "0.375",
                                                "GF2S (published)": "0.328"}
    assert "corr2 test (published)" not in summary_text(load_results(demo_like), synthetic=True)
    # without about.json (experiments on GRID features) the published columns stay
    html_path, _ = build_report(demo_like, synthetic=False)
    assert "corr2 test (published)" in html_path.read_text()


def test_report_command_writes_the_front_page_and_says_what_to_open(demo_like):
    from typer.testing import CliRunner

    from lip2speech.cli import app

    result = CliRunner().invoke(app, ["report", str(demo_like), "--title", "t"])
    assert result.exit_code == 0, result.output
    assert f"open {(demo_like / 'report.html').resolve()}" in result.output.replace("\n", "")
    assert "corr2 test (published)" not in (demo_like / "report.md").read_text().split("## Real GRID")[0]
    result = CliRunner().invoke(app, ["report", str(demo_like), "--grid"])
    assert result.exit_code == 0 and "| corr2 test (published) |" in (demo_like / "report.md").read_text()
