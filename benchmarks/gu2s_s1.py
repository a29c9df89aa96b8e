"""gu2s on real GRID s1: train variants (the full system and each lever off), evaluate them on the same held-out
clips with every metric, and print the ablation table next to the controls and (optionally) other runs.

    python benchmarks/gu2s_s1.py --corpus ../shared/data/grid-s1 --features16 F16 --features8 F8 --out DIR \
        [--variants full,no-ctc,no-sharp,8khz,shuffled] [--epochs 12] [--eval-utterances 40] [--jobs 1] \
        [--compare RUN ...] [--no-mean-control]

F16 / F8: `lip2speech prepare CORPUS --out F16 --fs 16000` and `--fs 8000` (made here when missing). Every
variant uses the same 80/20 split of s1 (seed 0) and the same first N test clips for the waveform metrics;
--compare adds finished runs (e.g. the shipped model's run or GF2S) evaluated the same way.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

#: variant -> (features: 16 or 8 kHz, TrainConfig overrides): each lever of the full system switched off.
VARIANTS: dict[str, tuple[int, dict]] = {
    "full": (16, {}),
    "no-ctc": (16, {"ctc_weight": 0.0, "model": {"ctc": False}}),  # (a) text objective off
    "no-sharp": (16, {"sharpness": 0.0, "model": {"postnet_layers": 0}}),  # (b) sharpness loss and post-net off
    "gf-only": (16, {"model": {"use_gp": False}}),  # (c) less input: the seven GF only, no Gabor pictures
    "no-envelope": (16, {"envelope_corr": 0.0}),  # (b) the band-envelope (STOI-like) term off
    "no-linear": (16, {"envelope_corr": 0.0, "linear_corr2": 0.0}),  # (b) both linear-spectrogram terms off
    "8khz": (8, {}),  # (d) the published 8 kHz audio path
    "shuffled": (16, {"shuffle_lips": True}),  # control: lips shuffled across utterances
}


def epoch_seconds(run: Path) -> float:
    """Median training seconds per epoch of a run (metrics.csv)."""
    from lip2speech.training.metrics_csv import epoch_seconds as logged_seconds

    secs = logged_seconds(run)
    return float(np.median(secs)) if secs else float("nan")


def mean_control(features: Path, run: Path, opts: Any, corpus: Path, out: Path) -> dict:
    """Every metric of the time-aligned mean training spectrogram on the run's test clips (as the variants)."""
    from lip2speech.evaluation.controls import MeanSpectrogram
    from lip2speech.evaluation.evaluate import evaluate_predictor, load_summary
    from lip2speech.training.run_folder import read_split

    split = read_split(run)
    control = MeanSpectrogram(features, split["train"])
    return load_summary(evaluate_predictor(control, features, sorted(split["test"]), out, opts, corpus,
                                           show_progress=False))["metrics"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--features16", type=Path, required=True)
    ap.add_argument("--features8", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variants", default="full,no-ctc,no-sharp,8khz,shuffled")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--eval-utterances", type=int, default=40, help="test clips with waveform metrics (of 80)")
    ap.add_argument("--iterations", type=int, default=None, help="inversion iterations (default 20)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--compare", type=Path, nargs="*", default=[], help="finished runs to evaluate the same way")
    ap.add_argument("--no-mean-control", action="store_true",
                    help="skip the mean-spectrogram control (when another invocation scores it)")
    args = ap.parse_args()

    from lip2speech.evaluation.evaluate import EvalOptions, evaluate_run, load_summary
    from lip2speech.data.features import prepare
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)} (choose from {', '.join(VARIANTS)})")
    feats = {16: args.features16, 8: args.features8}
    for fs in sorted({VARIANTS[v][0] for v in names}):
        if feats[fs] is None:
            raise SystemExit(f"--features{fs // 1000} is needed for the {fs // 1000} kHz variants")
        if not (feats[fs] / "features.json").is_file():
            print(f"preparing {args.corpus} at {fs} kHz into {feats[fs]}", flush=True)
            print(prepare(args.corpus, feats[fs], jobs=args.jobs, fs=fs * 1000).summary(), flush=True)
    opts = EvalOptions(waveform_utterances=args.eval_utterances, invert_iters=args.iterations, jobs=args.jobs,
                       samples=2)
    rows = []
    runs: list[tuple[str, Path, Path]] = []
    for name in names:
        fs, over = VARIANTS[name]
        run = args.out / name
        t0 = time.perf_counter()
        cfg = load_train_config(None, {"system": "gu2s", "max_epochs": args.epochs, **over})
        train_system(cfg, feats[fs], run, show_progress=False)
        print(f"{name}: trained in {time.perf_counter() - t0:.0f} s ({epoch_seconds(run):.1f} s/epoch)", flush=True)
        runs.append((name, run, feats[fs]))
    runs += [(p.name, p, None) for p in args.compare]
    for name, run, features in runs:
        t0 = time.perf_counter()
        ev = evaluate_run(run, "test", opts, corpus=args.corpus, show_progress=False)
        m = load_summary(ev)["metrics"]
        summary = json.loads((run / "summary.json").read_text())
        rows.append({"variant": name, "epochs": summary.get("epochs"), "s/epoch": epoch_seconds(run),
                     **{k: m[k]["mean"] for k in ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips", "wacc_orig")},
                     "n": m["corr2"]["n"] if "n" in m["corr2"] else None})
        print(f"{name}: evaluated in {time.perf_counter() - t0:.0f} s", flush=True)
    if runs and runs[0][2] is not None and not args.no_mean_control:  # the mean-spectrogram control on the same clips
        m = mean_control(runs[0][2], runs[0][1], opts, args.corpus, args.out / "mean-spectrogram" / "eval-test")
        rows.append({"variant": "mean spectrogram", "epochs": "-", "s/epoch": float("nan"),
                     **{k: m[k]["mean"] for k in ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips", "wacc_orig")}})
    head = ["variant", "epochs", "s/epoch", "corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips", "wacc_orig"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(f"{r[h]:.3f}" if isinstance(r[h], float) else str(r[h]) for h in head) + " |")
    (args.out / "ablation.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
