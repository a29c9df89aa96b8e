"""Which inversion turns a model's predicted spectrograms into the clearest speech: STOI, ESTOI and the recogniser's
word accuracy of each inversion (start, method, iterations, f0) on clips of a run's split, against the original
recordings; with --truth, the same inversions of the true spectrograms.

    python benchmarks/inversion_start.py --model grid-s1 --features F16 --corpus ../shared/data/grid-s1 \
        [--split val] [--train-clips 80] [--inversions sine:cg:2,harmonic:cg:1:90] [--truth] [--jobs 2]

F16: the features folder the run was trained on (`lip2speech prepare CORPUS --out F16 --fs 16000` for grid-s1).
An inversion is START:METHOD:ITERATIONS[:F0]. --train-clips N adds every third training clip, up to N (more words
for the recogniser; the model fits those a little better). The test split is for the final score only: choose here,
on validation, then score once with `lip2speech evaluate ... --invert-start`.
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool
from pathlib import Path

import numpy as np


def parse_inversion(text: str) -> dict:
    """START:METHOD:ITERATIONS[:F0] -> keyword arguments of invert_auditory_spectrogram."""
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise SystemExit(f"inversion {text!r}: expected START:METHOD:ITERATIONS[:F0]")
    out = {"init": parts[0], "method": parts[1], "n_iter": int(parts[2])}
    if len(parts) == 4:
        out["f0"] = float(parts[3])
    return out


def score(job: tuple) -> tuple[str, float, float, float]:
    """(inversion, STOI, ESTOI, word accuracy) of one clip's spectrogram."""
    name, spec, fs, words, source = job
    from lip2speech.evaluation.asr import recognise_grid, word_accuracy
    from lip2speech.audio import invert_auditory_spectrogram, load_audio
    from lip2speech.evaluation.metrics import estoi, stoi

    wave = invert_auditory_spectrogram(spec, fs=fs, seed=0, **parse_inversion(name.split(" ")[-1]))
    ref = load_audio(source, fs=fs)
    acc = word_accuracy(words, recognise_grid(wave, fs)) if len(words) == 6 else float("nan")
    return name, stoi(ref, wave, fs), estoi(ref, wave, fs), acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="grid-s1", help="shipped model name or run folder")
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--train-clips", type=int, default=0)
    ap.add_argument("--inversions", default="sine:cg:2,harmonic:cg:1:90")
    ap.add_argument("--truth", action="store_true", help="also invert the true spectrograms")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    inversions = args.inversions.split(",")
    for inv in inversions:
        parse_inversion(inv)

    from lip2speech.evaluation.evaluate import corpus_sources
    from lip2speech.inference import load_run
    from lip2speech.data.store import load_item

    rec = load_run(args.model)
    keys = sorted(rec.split.get(args.split, []))
    if not keys:
        raise SystemExit(f"the run's split has no '{args.split}' clips")
    keys += sorted(rec.split.get("train", []))[::3][: args.train_clips]
    sources = corpus_sources(args.corpus)
    jobs = []
    for key in keys:
        item = load_item(args.features, key)
        pred, _ = rec.predict_utterance(item["lips"], item.get("speaker"), len(item["aud"]))
        words = [str(w) for w in item.get("words", ())]
        src = sources[key]["audio_source"]
        for inv in inversions:
            jobs.append((f"predicted {inv}", np.asarray(pred, np.float64), rec.fs, words, src))
            if args.truth:
                jobs.append((f"true {inv}", np.asarray(item["aud"], np.float64), rec.fs, words, src))
    rows: dict[str, list] = {}
    with Pool(args.jobs) as pool:
        for i, (name, s, e, a) in enumerate(pool.imap(score, jobs), 1):
            rows.setdefault(name, []).append((s, e, a))
            print(f"\r{i}/{len(jobs)} inversions scored", end="", flush=True)
    print(f"\n{args.model}: {len(keys)} clips ({args.split}" + (f" + {args.train_clips} training" if args.train_clips
                                                               else "") + f"), {rec.fs} Hz\n")
    print("| spectrogram | inversion (start:method:iterations[:f0]) | STOI | ESTOI | word acc. |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        r = np.array(r)
        kind, inv = name.split(" ")
        print(f"| {kind} | {inv} | {r[:, 0].mean():.3f} | {r[:, 1].mean():.3f} | {np.nanmean(r[:, 2]):.3f} |")


if __name__ == "__main__":
    main()
