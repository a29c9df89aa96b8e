"""Recognised words on a synthetic speaker: gu2s against the three published systems, paired per utterance.

    python benchmarks/synth_words.py --out DIR [--utterances 100] [--seed 0] [--jobs 1]

The demo's corpus (16 utterances per speaker, 3-4 test utterances) has too few words to tell the systems apart
by the recogniser's word accuracy. This generates one synthetic speaker with more utterances (`lip2speech
synth`), prepares it, runs the single-speaker experiment with the four systems at the demo's sizes (`fast`
configs: the published systems 12 epochs, gu2s `fast-gu2s`, 40), and prints each system's word accuracy on its
test utterances and gu2s minus each published system, paired over the same utterances, with 95% Student-t
intervals. Every step resumes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PUBLISHED = ("gf2s", "gp2s", "lip2audspec")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--utterances", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    from lip2speech.corpus.synth import synth_corpus
    from lip2speech.eval_folder import read_per_utterance
    from lip2speech.experiments import run_experiment
    from lip2speech.features import prepare
    from lip2speech.metrics import mean_ci

    corpus, features, exp = args.out / "corpus", args.out / "features", args.out / "experiment"
    if not (corpus / "s1").is_dir():
        synth_corpus(corpus, speakers=1, utterances=args.utterances, seed=args.seed, jobs=args.jobs)
    if not (features / "features.json").is_file():
        print(prepare(corpus, features, jobs=args.jobs).summary(), flush=True)
    run_experiment("single", features, exp, systems=(*PUBLISHED, "gu2s"), speakers=["s1"], train="fast",
                   corpus=corpus, jobs=args.jobs)
    wacc = {s: {r["key"]: r["wacc"] for r in read_per_utterance(exp / "runs" / "s1" / s / "eval-test" /
                                                                   "per_utterance.csv")}
            for s in (*PUBLISHED, "gu2s")}
    keys = sorted(wacc["gu2s"])
    print(f"\nword accuracy of the recogniser on the reconstructions, {len(keys)} test utterances "
          f"({args.utterances} synthetic utterances, seed {args.seed}):")
    for s in (*PUBLISHED, "gu2s"):
        ci = mean_ci([wacc[s][k] for k in keys])
        print(f"  {s:12s} {ci['mean']:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}]")
    print("gu2s minus each published system, paired per utterance (wins / ties / losses):")
    for s in PUBLISHED:
        diff = [wacc["gu2s"][k] - wacc[s][k] for k in keys]
        ci = mean_ci(diff)
        tally = (sum(d > 0 for d in diff), sum(d == 0 for d in diff), sum(d < 0 for d in diff))
        print(f"  gu2s - {s:12s} {ci['mean']:+.3f} [{ci['ci_low']:+.3f}, {ci['ci_high']:+.3f}]  "
              f"{tally[0]} / {tally[1]} / {tally[2]}")


if __name__ == "__main__":
    main()
