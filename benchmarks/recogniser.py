"""Train the spectrogram word recogniser of the recognisability objective on the true spectrograms of a features
folder's training clips, and print its word accuracy on held-out validation clips.

    python benchmarks/recogniser.py --features F16 --out runs/recogniser.pt [--test-split grid-s1] [--epochs 40]
        [--split RUN/split.json]

The test split (grid-s1's 80 test clips by default) is never read; 10% of the other clips (seeded) validate. With
--split, the recogniser learns from exactly the training clips of that run's split.json and validates on its
validation clips, so a recognisability arm's recogniser hears no clip its net does not train on.
Resumes from OUT.partial. A gu2s recipe then uses it with `recognisability: W` and `recogniser: OUT`.
"""

from __future__ import annotations

import argparse
import time

from lip2speech.training.recogniser import train_recogniser
from lip2speech.data.splits import fixed_test_split
from lip2speech.training.run_folder import read_split
from lip2speech.data.store import FeatureStore
from lip2speech.training.train import test_keys_from


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", required=True, help="features folder (prepare --fs 16000)")
    ap.add_argument("--out", required=True, help="recogniser file to write (recogniser.pt)")
    ap.add_argument("--test-split", default="grid-s1", help="split.json or shipped model whose test clips are left out")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", help="a run folder's split.json: its training and validation clips (--test-split unused)")
    args = ap.parse_args()
    if args.split:
        split = read_split(args.split)
    else:
        keys = FeatureStore(args.features).keys()
        split = fixed_test_split(keys, test_keys_from(args.test_split), val_fraction=0.1, seed=args.seed)
    print(f"{len(split['train'])} training, {len(split['val'])} validation clips; {len(split['test'])} test clips "
          "left out", flush=True)
    t0 = time.perf_counter()
    train_recogniser(args.features, split["train"], split["val"], args.out, epochs=args.epochs, seed=args.seed,
                     log=lambda s: print(s, flush=True))
    print(f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
