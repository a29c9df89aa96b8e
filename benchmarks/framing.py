"""Does the framing of the footage change `speak`'s output? Each of N held-out grid-s1 test clips is re-framed with
ffmpeg four ways (original 360x288; 2x upscaled to 720x576; 2.5x upscaled and pillarboxed into 1280x720; 1x
boxed in a 1280x720 black frame), speak's pipeline runs on each with the lips at the model's training scale
(`--mouth-width model`, the default) and at video px (`off`, the old behaviour), and a table gives per framing:
mean STOI against the clip's original audio (the metric `evaluate` uses), the lip-read words kept of the original
clip's six, lip-read and recogniser word accuracy against the transcript.

    python benchmarks/framing.py --corpus ../shared/data/grid-s1 [--clips 8] [--model grid-s1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def transcript(align: Path) -> list[str]:
    """The words of a GRID .align file (sil and sp left out)."""
    return [ln.split()[2] for ln in align.read_text().splitlines() if len(ln.split()) == 3
            and ln.split()[2] not in ("sil", "sp")]


def words_kept(ref: list[str], hyp: list[str]) -> int:
    """How many of `ref`'s words `hyp` keeps: len(ref) minus their word edit distance, at least 0."""
    from lip2speech.evaluation.asr import edit_distance

    return max(0, len(ref) - edit_distance(ref, hyp))


def run(corpus: Path, clips: int, model: str, modes: list[str], asr: bool) -> list[dict]:
    """One row per (clip, framing, mode): STOI, words read, words kept, word accuracies, seconds."""
    from lip2speech.evaluation.asr import recognise_grid, word_accuracy
    from lip2speech.audio import load_audio
    from lip2speech.cli.options import parse_mouth_width
    from lip2speech.lips.framing import REFRAMINGS, reframe
    from lip2speech.inference import load_run
    from lip2speech.evaluation.metrics import stoi_detail
    from lip2speech.inference.speak import reconstruct_clip

    rec = load_run(model)
    keys = rec.test_keys[:clips]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            src = corpus / f"{key}.mpg"
            truth = transcript(corpus / "alignments" / f"{key}.align")
            ref = load_audio(src, fs=rec.fs)
            base: dict[str, list[str]] = {}
            for i, (name, vf) in enumerate(REFRAMINGS.items()):
                video = reframe(src, Path(tmp) / f"{Path(key).name}-{i}{'.mpg' if vf is None else '.mp4'}", vf)
                for mode in modes:
                    t0 = time.perf_counter()
                    info = reconstruct_clip(rec, video, Path(tmp) / "out.wav", mouth_width=parse_mouth_width(mode))
                    seconds = time.perf_counter() - t0
                    if name == "original":
                        base[mode] = info["words"]
                    hyp = recognise_grid(info["wave"], rec.fs) if asr else []
                    rows.append({"clip": key, "framing": name, "mode": mode,
                                 "stoi": stoi_detail(ref, info["wave"], rec.fs)[0], "words": info["words"],
                                 "kept": words_kept(base[mode], info["words"]),
                                 "wacc_lips": word_accuracy(truth, info["words"]),
                                 "wacc_asr": word_accuracy(truth, hyp) if asr else float("nan"),
                                 "warning": info["warning"], "seconds": seconds})
                    print(f"{key} {name:18s} {mode:5s} stoi {rows[-1]['stoi']:.3f} kept {rows[-1]['kept']} "
                          f"{' '.join(info['words'])}", file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table: one line per (mode, framing) with means over the clips and the STOI change."""
    out = ["| lips scale | framing | STOI | STOI - original's (max abs) | lip words kept of 6 | lip-read wacc "
           "| recogniser wacc |", "|---|---|---|---|---|---|---|"]
    for mode in dict.fromkeys(r["mode"] for r in rows):
        orig = {r["clip"]: r["stoi"] for r in rows if r["mode"] == mode and r["framing"] == "original"}
        for framing in dict.fromkeys(r["framing"] for r in rows):
            sel = [r for r in rows if r["mode"] == mode and r["framing"] == framing]
            d = np.array([r["stoi"] - orig[r["clip"]] for r in sel])
            out.append(f"| {mode} | {framing} | {np.mean([r['stoi'] for r in sel]):.3f} | {d.mean():+.3f} "
                       f"({np.abs(d).max():.3f}) | {np.mean([r['kept'] for r in sel]):.2f} | "
                       f"{np.mean([r['wacc_lips'] for r in sel]):.3f} | {np.mean([r['wacc_asr'] for r in sel]):.3f} |")
    return "\n".join(out)


def main() -> None:
    """Parse the options, run, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("../shared/data/grid-s1"), help="grid-s1 corpus folder")
    ap.add_argument("--clips", type=int, default=8, help="held-out test clips (the model's split, in order)")
    ap.add_argument("--model", default="grid-s1", help="shipped model or run folder")
    ap.add_argument("--modes", default="model,off", help="--mouth-width values to compare, comma-separated")
    ap.add_argument("--no-asr", action="store_true", help="skip the recogniser")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = run(args.corpus, args.clips, args.model, args.modes.split(","), not args.no_asr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print(f"\n{args.clips} clips, {len(rows)} runs in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
