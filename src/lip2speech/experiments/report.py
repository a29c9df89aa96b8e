"""Experiment report: one self-contained HTML page (figures, audio and video embedded) plus Markdown.

Input: an experiment output folder holding `<experiment>/results.json` files (written by
`lip2speech.experiments`), whose rows carry our metric summaries and the published value, and whose
`samples` point at per-utterance `.npz` files (spectrograms and waveforms) with optional `.mp4` clips.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import write_text
from .report_page import (_CSS, _Page, _stat, _wav_bytes, fmt, fmt_signed,  # noqa: F401 (re-exported)
                          markdown_table)

#: Metric key -> column title, in table order (each row's `metrics` holds mean_ci dicts under these keys).
METRIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("corr2_ae", "AE ceiling"),
    ("stoi", "STOI"),
    ("estoi", "ESTOI"),
    ("pesq", "PESQ"),
    ("wacc", "Word acc."),
    ("wacc_orig", "Word acc. (original)"),
    ("wacc_lips", "Word acc. (lips)"),  # gu2s: the words it reads from the lips, scored like the recogniser's
)
TABLE_HEADER: tuple[str, ...] = ("System", "Condition", "Speakers", "Test utts", "corr2 test (ours)", "95% CI",
                                 "corr2 train (ours)", "corr2 test (published)", "corr2 train (published)",
                                 ) + tuple(t for _, t in METRIC_COLUMNS)
#: The line under every table saying what its corr2 columns are.
TABLE_NOTE = ("corr2 test (ours): mean and 95% CI over the run's held-out test utterances; corr2 train (ours): "
              "mean over its training utterances; corr2 test / train (published): the study's averages over its "
              "held-out test videos / its training videos (its headline numbers are training-set averages); "
              "the other columns are on the test utterances.")
PAIRED_NOTE = ("Δ: the reference system's score minus the other system's on the same test utterance, averaged "
               "over the utterances (pooled over the speakers), with its 95% Student-t interval; an interval "
               "wholly above 0 means the reference is better on these utterances.")
EXPERIMENT_TITLES = {  # in report order: real GRID first
    "real-grid": "Real GRID: the shipped model on real s1 clips",
    "single": "Single speaker",
    "multi": "Multi-speaker",
    "vocabulary": "Vocabulary (per-word reconstruction)",
}
#: The columns holding the study's GRID values: left out of tables of runs on a synthetic corpus.
PUBLISHED_COLUMNS = ("corr2 test (published)", "corr2 train (published)")
SYNTH_NOTE = ("corr2 test (ours): mean and 95% CI over the run's held-out test utterances; corr2 train (ours): "
              "mean over its training utterances; the other columns are on the test utterances. These runs are on "
              "a synthetic corpus, so the study's GRID values are not shown beside them (see the real GRID "
              "section).")
#: Columns of the real-GRID table: (row field, header).
REAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("words", "Words"), ("hyp_lips", "Read from the lips"), ("hyp", "Recogniser: reconstruction"),
    ("hyp_orig", "Recogniser: original"), ("corr2", "corr2"), ("stoi", "STOI"), ("estoi", "ESTOI"),
    ("pesq", "PESQ"), ("wacc", "Word acc."), ("wacc_lips", "Word acc. (lips)"))


def fmt_published(value: Any) -> str:
    """A published value as printed by the study (2 or 3 decimals); '–' when not published."""
    text = fmt(value, 3)
    return text[:-1] if text.endswith("0") else text


def published_of(row: dict[str, Any]) -> tuple[Any, Any]:
    """(published train, published test) of a results row; results files from before both kinds were recorded
    hold one `published_corr2`, the training-set headline."""
    return row.get("published_train", row.get("published_corr2")), row.get("published_test")


def table_header(published: bool = True) -> list[str]:
    """Header of the results tables: TABLE_HEADER, without the published columns when `published` is False."""
    return [h for h in TABLE_HEADER if published or h not in PUBLISHED_COLUMNS]


def table_rows(result: dict[str, Any], published: bool = True) -> list[list[str]]:
    """Table cells (strings, table_header(published) order) of one experiment's rows: ours on test and train
    beside the published test and train values (left out when `published` is False)."""
    if not published:
        keep = [i for i, h in enumerate(TABLE_HEADER) if h not in PUBLISHED_COLUMNS]
        return [[cells[i] for i in keep] for cells in table_rows(result)]
    rows = []
    for row in result.get("rows", []):
        ci = f"[{fmt(_stat(row, 'corr2', 'ci_low'))}, {fmt(_stat(row, 'corr2', 'ci_high'))}]"
        pub_train, pub_test = published_of(row)
        train = (row.get("train_metrics") or {}).get("corr2") or {}
        rows.append([
            str(row.get("system", "")), str(row.get("condition", "")), str(row.get("n_speakers", "")),
            str(row["n_test"] if row.get("n_test") is not None else _stat(row, "corr2", "n") or ""),
            fmt(_stat(row, "corr2")), ci, fmt(train.get("mean")), fmt_published(pub_test), fmt_published(pub_train),
        ] + [fmt(_stat(row, key)) for key, _ in METRIC_COLUMNS])
    return rows


#: Column titles of the paired metrics (experiments.PAIRED_METRICS keys).
PAIRED_TITLES = {"wacc": "word acc.", "stoi": "STOI", "estoi": "ESTOI", "corr2": "corr2"}


def paired_title(result: dict[str, Any]) -> str:
    """Heading of an experiment's paired comparison."""
    return f"{result['paired']['reference']} minus each system, paired per test utterance"


def paired_table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, cells) of an experiment's paired comparison: per system and metric the mean difference from the
    reference with its 95% CI; for the first metric also the reference's wins / ties / losses."""
    paired = result["paired"]
    metrics = paired["metrics"]
    header = ["System", "Test utts"]
    for i, m in enumerate(metrics):
        header += [f"Δ {PAIRED_TITLES.get(m, m)}", "95% CI"] + (["wins / ties / losses"] if i == 0 else [])
    rows = []
    for row in paired["rows"]:
        cells = [row["system"], str(row["n"])]
        for i, m in enumerate(metrics):
            d = row["metrics"][m]
            cells += [fmt_signed(d["mean"]), f"[{fmt_signed(d['ci_low'])}, {fmt_signed(d['ci_high'])}]"]
            if i == 0:
                cells.append(f"{d['wins']} / {d['ties']} / {d['losses']}")
        rows.append(cells)
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width plain-text table for the terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def load_results(folder: str | Path) -> list[dict[str, Any]]:
    """Every `results.json` directly in `folder` or one level below, in single/multi/vocabulary order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Lip2SpeechError("experiment folder not found", folder)
    found = []
    for path in [folder / "results.json", *sorted(folder.glob("*/results.json"))]:
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise Lip2SpeechError(f"invalid JSON: {exc}", path) from None
            data["_dir"] = str(path.parent)
            found.append(data)
    if not found:
        raise Lip2SpeechError("no results.json found (run `lip2speech experiment ... --out` first)", folder)
    order = {k: i for i, k in enumerate(EXPERIMENT_TITLES)}
    # each experiment's own table first, then its labelled variants
    return sorted(found, key=lambda r: (order.get(r.get("experiment", ""), len(order)), bool(r.get("label")),
                                        str(r.get("label", ""))))


def _speaker_series(result: dict[str, Any]) -> tuple[dict[str, list], dict[str, dict[int, float]],
                                                     dict[str, dict[int, float]]]:
    """Per system: ours on test [(n, mean, ci_low, ci_high)], published {n: train value}, ours on train {n: mean}."""
    ours: dict[str, list] = {}
    published: dict[str, dict[int, float]] = {}
    train: dict[str, dict[int, float]] = {}
    for row in result.get("rows", []):
        n, system = row.get("n_speakers"), row.get("system")
        if not isinstance(n, int) or row.get("aggregate"):
            continue
        mean = _stat(row, "corr2")
        if mean is not None:
            ours.setdefault(system, []).append((n, mean, _stat(row, "corr2", "ci_low"), _stat(row, "corr2", "ci_high")))
        if published_of(row)[0] is not None:  # the study's multi-speaker values are training-set averages
            published.setdefault(system, {})[n] = float(published_of(row)[0])
        train_mean = ((row.get("train_metrics") or {}).get("corr2") or {}).get("mean")
        if train_mean is not None:
            train.setdefault(system, {})[n] = float(train_mean)
    for system in ours:
        ours[system] = [tuple(np.nan if v is None else v for v in p) for p in ours[system]]
    return ours, published, train


def _sample_section(page: _Page, result: dict[str, Any], max_samples: int, shown: set[Path]) -> None:
    """Figures and players of the result's sample utterances not already shown (runs shared by experiments)."""
    from .plots import spectrogram_figure, waveform_figure

    base = Path(result["_dir"])
    for sample in result.get("samples", [])[:max_samples]:
        files = {s: (base / p).resolve() for s, p in sample.get("systems", {}).items() if (base / p).is_file()}
        if not files or set(files.values()) <= shown:
            continue
        shown.update(files.values())
        loaded = {s: dict(np.load(p, allow_pickle=False)) for s, p in files.items()}
        first = next(iter(loaded.values()))
        fs = int(first.get("fs", 8000))
        words = str(first.get("words", sample.get("words", "")))
        page.heading(f"{sample.get('key', '')} — “{words}” ({sample.get('condition', '')})", 3)
        spec = [("original", first["target"])]
        if "autoencoder" in first:
            spec.append((f"autoencoder (corr2 {fmt(float(first.get('corr2_ae', np.nan)))})", first["autoencoder"]))
        spec += [(f"{s} (corr2 {fmt(float(d.get('corr2', np.nan)))})", d["pred"]) for s, d in loaded.items()]
        page.image(spectrogram_figure(spec), f"Auditory spectrograms of {sample.get('key', '')}")
        waves = [("original", first["wav_ref"])] if "wav_ref" in first else []
        waves += [(s, d["wav_pred"]) for s, d in loaded.items() if "wav_pred" in d]
        if waves:
            page.image(waveform_figure(waves, fs), f"Waveforms of {sample.get('key', '')} ({fs} Hz)")
            page.media([(label, "audio", _wav_bytes(w, fs)) for label, w in waves])
        videos = [(f"{s}: silent video + reconstruction", "video", p.with_suffix(".mp4").read_bytes())
                  for s, p in files.items() if p.with_suffix(".mp4").is_file()]
        if videos:
            page.media(videos)


def build_report(folder: str | Path, title: str = "lip2speech experiments", max_samples: int = 2,
                 synthetic: bool | None = None) -> tuple[Path, Path]:
    """Write `report.html` (self-contained) and `report.md` (+ `report_assets/`) into `folder`; return both paths.
    `synthetic`: the experiments ran on a synthetic corpus, so no published GRID values beside them (default: as
    the folder's about.json, written by the demo, says)."""
    from .plots import speakers_figure, words_figure
    from .report_front import load_about, write_front

    folder = Path(folder)
    results = load_results(folder)
    about = load_about(folder)
    if synthetic is None:
        synthetic = bool(about.get("synthetic"))
    assets = folder / "report_assets"
    if assets.exists():
        shutil.rmtree(assets)
    page = _Page(assets, "report_assets")
    shown: set[Path] = set()
    titles = []
    for result in results:
        kind = result.get("experiment", "")
        titles.append(result_title(result) + (" (synthetic corpus)" if synthetic and kind != "real-grid" else ""))
        page.heading(titles[-1])
        if kind == "real-grid":
            _real_grid_section(page, result, max_samples, shown)
            continue
        meta = [f"created {result.get('created', '?')}"]
        if result.get("features"):
            meta.append(f"features {result['features']}")
        if result.get("note"):
            meta.append(str(result["note"]))
        page.para("; ".join(meta))
        page.table(table_header(not synthetic), table_rows(result, not synthetic))
        page.note(SYNTH_NOTE if synthetic else TABLE_NOTE)
        if result.get("paired"):
            page.para(paired_title(result) + ":")
            page.table(*paired_table(result))
            page.note(PAIRED_NOTE)
        for row in result.get("rows", []):
            if row.get("error"):
                page.para(f"Failed: {row.get('system')} {row.get('condition')}: {row['error']}")
        if kind == "multi":
            ours, published, train = _speaker_series(result)
            if ours:
                page.image(speakers_figure(ours, {} if synthetic else published, ours_train=train),
                           "corr2 vs number of speakers (ours on test solid, ours on train dotted"
                           + (")" if synthetic else ", published training-set values dashed)"))
        per_word = result.get("words") or {}
        if per_word:
            systems = sorted({s for v in per_word.values() for s in v})
            page.table(["Word"] + systems, [[w] + [fmt(per_word[w].get(s)) for s in systems] for w in per_word],
                       cls="words")
            page.image(words_figure(per_word), "corr2 per word")
        _sample_section(page, result, max_samples, shown)
    front = _Page(assets, "report_assets")
    front.html.append(f"<h1>{html.escape(title)}</h1>")
    front.md.append(f"# {title}\n")
    write_front(front, results, titles, about, synthetic, page.sections)
    front.heading("Results", 2)
    front.note("Every number below was computed by the runs in this folder, real GRID first. Ours on test: mean "
               "and 95% confidence interval over test utterances. Published values (the original study's result "
               "spreadsheets: corr2 of auditory spectrograms over its held-out test videos and its training "
               "videos) appear only beside results on GRID.")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
           + "\n".join(front.html + page.html) + "\n</body></html>\n")
    html_path, md_path = folder / "report.html", folder / "report.md"
    write_text(html_path, doc)
    write_text(md_path, "\n".join(front.md + page.md))
    return html_path, md_path


def _real_grid_section(page: _Page, result: dict[str, Any], max_samples: int, shown: set[Path]) -> None:
    """The shipped model on real clips: per-clip words and scores, then their spectrograms and players."""
    page.para(f"Model {result.get('model', '')}, on real clips it never trained on. Data: "
              f"{result.get('attribution', 'GRID corpus (CC BY 4.0)')}.")
    page.table(["Clip"] + [h for _, h in REAL_COLUMNS],
               [[r.get("key", "")] + [fmt(r.get(k)) for k, _ in REAL_COLUMNS] for r in result.get("rows", [])])
    from .report_front import grid_comparison

    beside = grid_comparison(result)
    if beside is not None:
        page.para(f"{result.get('model', 'The shipped model')} on GRID s1, beside the published systems:")
        page.table(beside[0], beside[1])
        page.note(beside[2])
    _sample_section(page, result, max_samples, shown)


def result_title(result: dict[str, Any]) -> str:
    """Heading of one results file: the experiment's title, and its label when it is a variant."""
    kind = result.get("experiment", "")
    title = EXPERIMENT_TITLES.get(kind, kind or "experiment")
    return f"{title} — {result['label']}" if result.get("label") else title


def summary_text(results: Iterable[dict[str, Any]], synthetic: bool = False) -> str:
    """Terminal summary: one table per experiment with ours beside published (main columns only; on a synthetic
    corpus, no published columns) and the note."""
    keep = [TABLE_HEADER.index(h) for h in TABLE_HEADER[:9] + ("STOI", "Word acc.", "Word acc. (lips)")
            if not (synthetic and h in PUBLISHED_COLUMNS)]
    parts = []
    for result in results:
        if result.get("experiment") == "real-grid":  # per-clip words, printed by the demo itself
            continue
        rows = [[r[i] for i in keep] for r in table_rows(result)]
        note = SYNTH_NOTE if synthetic else TABLE_NOTE
        parts.append(f"{result_title(result)}\n{text_table([TABLE_HEADER[i] for i in keep], rows)}\n{note}")
        if result.get("paired"):
            parts.append(f"{paired_title(result)}:\n{text_table(*paired_table(result))}\n{PAIRED_NOTE}")
    return "\n\n".join(parts)
