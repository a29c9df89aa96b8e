"""The report's front page: what ran and on what data, a glossary, the headline result (one sentence, one table)
and the contents; and the published GRID values shown beside the shipped model's real-GRID scores."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from .report_page import _Page

#: Terms of the report, in the order the front page lists them.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("GF2S", "GaborFea2Speech, a published system: 7 Gabor features of the lips per frame -> an LSTM -> the "
             "bottleneck of a speech autoencoder, decoded to an auditory spectrogram."),
    ("GP2S", "GaborPic2Speech, a published system: the same from Gabor pictures of the lips (a CNN front end)."),
    ("Lip2AudSpec", "The published deep baseline: 64x64 face crops -> a CNN + LSTM -> the autoencoder bottleneck."),
    ("gu2s", "GaborUtt2Speech, this project's system: reads the whole utterance of Gabor lip pictures at once "
             "(bidirectional GRU), predicts the spectrogram directly and, through a CTC head, the words."),
    ("grid-s1", "The gu2s model shipped with lip2speech, trained on the real GRID speaker s1 (80 of its clips "
                "held out for testing, including the packaged demo clips)."),
    ("corr2", "Correlation of the predicted and the original auditory spectrogram, frame by frame, averaged "
              "(1 = identical); the published studies' main number."),
    ("STOI", "Short-Time Objective Intelligibility of the reconstructed waveform against the original recording "
             "(0-1; higher: more intelligible)."),
    ("ESTOI", "Extended STOI, which also credits spectral structure across bands (0-1; stricter than STOI)."),
    ("PESQ", "Perceptual Evaluation of Speech Quality (ITU-T P.862 narrow band, about 1-4.5; higher: better quality)."),
    ("Word acc.", "Word accuracy of a speech recogniser (pocketsphinx with the GRID grammar) on the "
                  "reconstructed speech; 'original' is the same recogniser on the real recording, the ceiling."),
    ("Word acc. (lips)", "gu2s only: accuracy of the words its CTC head reads straight from the lips (lip reading, "
                         "no audio)."),
    ("AE ceiling", "corr2 of the autoencoder's own reconstruction of the target: the best a published system "
                   "can reach."),
)
#: The study's systems by their names in its paper.
NAMES = {"gf2s": "GF2S", "gp2s": "GP2S", "lip2audspec": "Lip2AudSpec", "gu2s": "gu2s"}


def load_about(folder: Path) -> dict[str, Any]:
    """What ran, as the demo recorded it (about.json in the experiment folder); {} when absent."""
    path = folder / "about.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _mean(values: Sequence[Any]) -> float:
    ok = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(ok) / len(ok) if ok else float("nan")


def _f(value: Any) -> str:
    from .report_page import fmt

    return fmt(value)


def card_scores(result: dict[str, Any]) -> dict[str, Any]:
    """The shipped model's scores on its own held-out test clips ({metric: mean}, n, train_corr2), as its model
    card records them; from the results file, else from the installed card; {} when neither has them."""
    if result.get("card"):
        return result["card"]
    from ..training.shipped import shipped_models

    path = shipped_models().get(str(result.get("model", "")))
    card = json.loads((path / "card.json").read_text()) if path and (path / "card.json").is_file() else {}
    test = card.get("test") or {}
    if not test:
        return {}
    return {"metrics": {k: v.get("mean") for k, v in test.items()}, "n": (test.get("corr2") or {}).get("n"),
            "train_corr2": (card.get("train_corr2") or {}).get("mean")}


def grid_comparison(result: dict[str, Any]) -> tuple[list[str], list[list[str]], str] | None:
    """(header, rows, note): the shipped model on its held-out GRID s1 test clips beside the published systems'
    s1 values (the only place the report shows published GRID numbers); None without the model card."""
    from .published import PUBLISHED

    card = card_scores(result)
    if not card:
        return None
    m = card["metrics"]
    header = ["System", "Trained on", "Scored on", "corr2 test", "corr2 train", "STOI", "Word acc.",
              "Word acc. (lips)"]
    rows = [[f"{result.get('model', 'grid-s1')} (gu2s, ours)", "GRID s1 (16 kHz)",
             f"its {card.get('n') or '?'} held-out s1 test clips", _f(m.get("corr2")), _f(card.get("train_corr2")),
             _f(m.get("stoi")), _f(m.get("wacc")), _f(m.get("wacc_lips"))]]
    for system, values in PUBLISHED["single"].items():
        s1 = values.get("s1") or {}
        rows.append([f"{NAMES[system]} (published)", "GRID s1 (8 kHz)", "the study's s1 test videos",
                     _f(s1.get("test")), _f(s1.get("train")), "–", "–", "–"])
    note = ("Published values are the original study's (its result spreadsheets), not ours; its test videos and "
            "audio rate differ from the shipped model's, so this is a side-by-side view on the same speaker, "
            "not a paired comparison. The published systems report no STOI or word accuracy.")
    return header, rows, note


def _headline_result(results: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The synthetic-corpus result the headline quotes: the intelligibility experiment, else the first with a
    paired comparison, else the first table."""
    tables = [r for r in results if r.get("experiment") != "real-grid"]
    for pick in (lambda r: r.get("label") == "intelligibility", lambda r: bool(r.get("paired")), lambda r: True):
        found = [r for r in tables if pick(r)]
        if found:
            return found[0]
    return None


def headline(results: Sequence[dict[str, Any]], synthetic: bool) -> tuple[str, list[str], list[list[str]]]:
    """(one sentence, header, rows) of the report's main result: real GRID first, then the trained systems."""
    header = ["Data", "System", "Test utts", "corr2", "STOI", "Word acc.", "Word acc. (lips)"]
    rows: list[list[str]] = []
    parts: list[str] = []
    real = next((r for r in results if r.get("experiment") == "real-grid"), None)
    if real is not None:
        clips = real.get("rows", [])
        mean = {k: _mean([c.get(k) for c in clips]) for k in ("corr2", "stoi", "wacc", "wacc_lips", "wacc_orig")}
        model = real.get("model", "grid-s1")
        rows.append([f"real GRID s1, {len(clips)} packaged clips", f"{model} (gu2s, shipped)", str(len(clips)),
                     _f(mean["corr2"]), _f(mean["stoi"]), _f(mean["wacc"]), _f(mean["wacc_lips"])])
        card = card_scores(real)
        if card:
            m = card["metrics"]
            rows.append([f"real GRID s1, its {card.get('n')} held-out test clips (model card)",
                         f"{model} (gu2s, shipped)", str(card.get("n")), _f(m.get("corr2")), _f(m.get("stoi")),
                         _f(m.get("wacc")), _f(m.get("wacc_lips"))])
        parts.append(f"on real GRID the shipped {model} model's speech was recognised at word accuracy "
                     f"{_f(mean['wacc'])} on the {len(clips)} packaged clips (the original recordings: "
                     f"{_f(mean['wacc_orig'])}; {_f(mean['wacc_lips'])} of the words read from the lips)")
    chosen = _headline_result(results)
    if chosen is not None:
        data = "synthetic corpus" if synthetic else "features " + Path(str(chosen.get("features", "?"))).name
        pooled = [r for r in chosen.get("rows", []) if r.get("aggregate")] or [
            r for r in chosen.get("rows", []) if not r.get("error")]
        for row in pooled:
            got = row.get("metrics", {})
            mean_of = lambda k: (got.get(k) or {}).get("mean")  # noqa: E731
            where = ", ".join(row.get("speakers") or []) if row.get("aggregate") else row.get("condition", "")
            rows.append([f"{data}, {where}", f"{row.get('system', '')} (trained here)",
                         str(row.get("n_test") or (got.get("corr2") or {}).get("n") or ""), _f(mean_of("corr2")),
                         _f(mean_of("stoi")), _f(mean_of("wacc")), _f(mean_of("wacc_lips"))])
        paired = chosen.get("paired") or {}
        diffs = [(p["system"], p["n"], p["metrics"].get("wacc")) for p in paired.get("rows", [])
                 if p.get("metrics", {}).get("wacc")]
        if diffs:
            from .report_page import fmt_signed

            ref = paired.get("reference", "gu2s")
            own = next((r for r in pooled if r.get("system") == ref), {})
            said = "; ".join(f"minus {NAMES.get(s, s)} {fmt_signed(d['mean'])} [{fmt_signed(d['ci_low'])}, "
                             f"{fmt_signed(d['ci_high'])}] over {n} utterances" for s, n, d in diffs)
            better = all((d.get("ci_low") or 0) > 0 for _, _, d in diffs)
            verdict = (f"{ref} is clearly better than each" if better else
                       "too few utterances or too small a difference to call a winner everywhere")
            parts.append(f"on the {data} {ref}, trained from scratch here, reached word accuracy "
                         f"{_f(((own.get('metrics') or {}).get('wacc') or {}).get('mean'))} ({said}, paired per "
                         f"test utterance, 95% interval: {verdict})")
        elif pooled:
            best = max(pooled, key=lambda r: (r.get("metrics", {}).get("corr2") or {}).get("mean") or -1)
            parts.append(f"on the {data} the best system trained here was {best.get('system')} (corr2 "
                         f"{_f((best.get('metrics', {}).get('corr2') or {}).get('mean'))})")
    sentence = ("; ".join(parts) + ".") if parts else "No results yet."
    return sentence[0].upper() + sentence[1:], header, rows


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def data_lines(results: Sequence[dict[str, Any]], about: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, description) of each data set the report's results come from, real GRID first."""
    out = []
    real = next((r for r in results if r.get("experiment") == "real-grid"), None)
    if real is not None:
        out.append(("Real GRID", f"{_plural(len(real.get('rows', [])), 'clip')} of speaker s1 packaged with "
                                 f"lip2speech, which the shipped model {real.get('model', 'grid-s1')} never trained "
                                 f"on, scored against their original recordings ({real.get('attribution', 'GRID')})"))
    synth = about.get("synthetic")
    if synth:
        counts = list(synth.get("utterances", []))
        groups: list[str] = []
        for n in sorted(set(counts), key=counts.index):
            groups.append(f"{_plural(counts.count(n), 'speaker')} x {n} utterances")
        out.append(("Synthetic corpus", f"a GRID-like corpus generated by `lip2speech synth` (seed "
                                        f"{synth.get('seed', 0)}): {' and '.join(groups)}; each speaker's "
                                        "utterances split 80% train / 20% test; every system trained from scratch "
                                        "on it here"))
    elif any(r.get("experiment") != "real-grid" for r in results):
        feats = sorted({str(r.get("features")) for r in results if r.get("features")})
        out.append(("Experiments", "features folder(s) " + ", ".join(feats) if feats else "experiment results"))
    return out


def ran_lines(results: Sequence[dict[str, Any]], titles: Sequence[str]) -> list[tuple[str, str]]:
    """(section title, what ran in it) per results file."""
    out = []
    for result, title in zip(results, titles):
        if result.get("experiment") == "real-grid":
            out.append((title, f"the shipped model {result.get('model', '')} speaks each clip (no training)"))
            continue
        rows = [r for r in result.get("rows", []) if not r.get("aggregate")]
        systems = ", ".join(dict.fromkeys(NAMES.get(r.get("system"), r.get("system")) for r in rows))
        conds = ", ".join(dict.fromkeys(str(r.get("condition")) for r in rows))
        out.append((title, f"{systems} trained and tested on {conds} ({_plural(len(rows), 'run')})"))
    return out


def write_front(page: _Page, results: Sequence[dict[str, Any]], titles: Sequence[str], about: dict[str, Any],
                synthetic: bool, sections: Sequence[tuple[str, str]]) -> None:
    """The front page: headline (sentence + table), what ran, on what data, glossary, contents."""
    sentence, header, rows = headline(results, synthetic)
    page.para(sentence, cls="headline")
    if rows:
        page.table(header, rows)
        page.note("Test utts: test utterances (clips) the row is averaged over. Word acc.: the recogniser on the "
                  "reconstructed speech; Word acc. (lips): the words gu2s reads from the lips. Terms: see the "
                  "glossary below.")
    page.heading("What ran, on what data", 3)
    page.terms(data_lines(results, about))
    page.terms(ran_lines(results, titles))
    synth = about.get("synthetic") or {}
    if synth and "multi" not in synth.get("experiments", []):
        page.note("The full synthetic study (the three published systems and gu2s in single-speaker, "
                  "multi-speaker and vocabulary experiments, and an intelligibility experiment on a bigger "
                  "speaker, about 25-30 minutes on 2 cores): `lip2speech demo --full`.")
    page.heading("Glossary", 3)
    page.terms(GLOSSARY)
    page.heading("Contents", 3)
    page.links(sections)
