"""Data scaling of the shipped recipe: gu2s (configs/grid-s1.yaml, 48 epochs, seed 0) trained on 160, 320 and 720
real s1 clips, every point scored on grid-s1's same 80 held-out original test clips.

    python benchmarks/data_scaling.py --corpus ../shared/data/grid-s1 --more ../shared/data/grid-s1-more \
        --features F16 --features-more F16-720 --runs RUNS [--points 160,320,720] [--jobs 1]

160 and 320 train on the grid-s1 clips (F16: grid-s1 prepared at 16 kHz; 160 a seeded draw of the 320); 720 adds
the 400 re-encoded grid-s1-more clips (F16-720: both corpora prepared into one folder). The test clips are the
originals of grid-s1's split.json in every point. Each step resumes (prepare, train, evaluate). The table
is printed and written to RUNS/scaling.md (the card's data-scaling table: ship_grid_s1.py --scaling).
"""

from __future__ import annotations

import argparse
from pathlib import Path

POINTS = {160: "grid-s1-160", 320: "grid-s1", 720: "grid-s1-720"}  # training clips -> packaged config
KEYS = ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="grid-s1 (originals; its test clips are scored)")
    ap.add_argument("--more", type=Path, required=True, help="grid-s1-more (400 more s1 clips, re-encoded video)")
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--features-more", type=Path, required=True)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--points", default="160,320,720")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the waveform metrics")
    args = ap.parse_args()

    from lip2speech.evaluation.evaluate import EvalOptions, evaluate_run, load_summary
    from lip2speech.data.features import prepare
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    points = [int(p) for p in args.points.split(",")]
    print(prepare(args.corpus, args.features, jobs=args.jobs, fs=16000).summary(), flush=True)
    if 720 in points:
        for corpus in (args.corpus, args.more):
            print(prepare(corpus, args.features_more, jobs=args.jobs, fs=16000).summary(), flush=True)
    opts = EvalOptions(jobs=args.jobs, samples=0).with_speak_inversion()
    rows = []
    for n in points:
        features = args.features_more if n == 720 else args.features
        run = train_system(load_train_config(POINTS[n], {"system": "gu2s", "seed": 0}), features,
                           args.runs / f"s1-{n}")
        m = load_summary(evaluate_run(run, "test", opts, corpus=args.corpus))["metrics"]
        rows.append((n, m))
    lines = ["| training clips | " + " | ".join(KEYS) + " |", "|---|" + "---|" * len(KEYS)]
    lines += [f"| {n} | " + " | ".join(f"{m[k]['mean']:.3f} [{m[k]['ci_low']:.3f}, {m[k]['ci_high']:.3f}]"
                                      for k in KEYS) + " |" for n, m in rows]
    cmd = (f"python benchmarks/data_scaling.py --corpus {args.corpus} --more {args.more} --features {args.features} "
           f"--features-more {args.features_more} --runs {args.runs} --points {args.points}")
    text = ("## Data scaling (grid-s1's recipe, one member each)\n\n" + "\n".join(lines) + "\n\n80 test clips of "
            f"grid-s1 (originals), speak's inversion; seed 0, 48 epochs each. Made with `{cmd}`.\n")
    (args.runs / "scaling.md").write_text(text)  # the card's data-scaling table: ship_grid_s1.py --scaling
    print("\n" + text + f"\nwritten to {args.runs / 'scaling.md'}")


if __name__ == "__main__":
    main()
