"""Recognised words on a synthetic speaker: gu2s against the three published systems, paired per utterance.

    python benchmarks/synth_words.py --out DIR [--utterances 100] [--seed 0] [--jobs 1]

The demo's main corpus (16 utterances per speaker, 3-4 test utterances) has too few words to tell the systems
apart by the recogniser's word accuracy; the demo's intelligibility experiment (one more speaker of 100
utterances, its autoencoder at the demo's 10 epochs) and this benchmark (its own corpus of one speaker, the
autoencoder at the config's 25) answer it. This generates one synthetic speaker with more utterances (`lip2speech
synth`), prepares it, runs the single-speaker experiment with the four systems at the demo's sizes (`fast`
configs: the published systems 12 epochs, gu2s `fast-gu2s`, 40), and prints each system's word accuracy on its
test utterances and the experiment's paired table (gu2s minus each published system on the same utterances, with
95% Student-t intervals; `lip2speech demo` runs the same experiment on its own intelligibility speaker). Every
step resumes.
"""

from __future__ import annotations

import argparse
import json
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
    from lip2speech.experiments.experiment import run_experiment
    from lip2speech.data.features import prepare
    from lip2speech.experiments.report import PAIRED_NOTE, fmt, paired_table, paired_title, text_table

    corpus, features, exp = args.out / "corpus", args.out / "features", args.out / "experiment"
    if not (corpus / "s1").is_dir():
        synth_corpus(corpus, speakers=1, utterances=args.utterances, seed=args.seed, jobs=args.jobs)
    if not (features / "features.json").is_file():
        print(prepare(corpus, features, jobs=args.jobs).summary(), flush=True)
    path = run_experiment("single", features, exp, systems=(*PUBLISHED, "gu2s"), speakers=["s1"], train="fast",
                          corpus=corpus, jobs=args.jobs)
    result = json.loads(path.read_text())
    rows = [r for r in result["rows"] if not r.get("aggregate")]
    print(f"\nword accuracy of the recogniser on the reconstructions, {rows[0]['n_test']} test utterances "
          f"({args.utterances} synthetic utterances, seed {args.seed}):")
    for r in rows:
        w = r["metrics"]["wacc"]
        print(f"  {r['system']:12s} {fmt(w['mean'])} [{fmt(w['ci_low'])}, {fmt(w['ci_high'])}]")
    print(f"{paired_title(result)}:\n{text_table(*paired_table(result))}\n{PAIRED_NOTE}")


if __name__ == "__main__":
    main()
