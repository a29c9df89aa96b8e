"""Train the spectrogram word recogniser of the recognisability objective on the true spectrograms of a features
folder's training clips, and print its word accuracy on held-out validation clips.

    python benchmarks/recogniser.py --features F16 --out runs/recogniser.pt [--test-split grid-s1] [--epochs 40]
        [--leave-out RUN]

The test split (grid-s1's 80 test clips by default) is never read; 10% of the other clips (seeded) validate. With
--leave-out, a run folder's (or split.json's) validation and test clips are never read instead: a recognisability
arm's recogniser then hears none of the clips its net is chosen or scored on.
Resumes from OUT.partial. A gu2s recipe then uses it with `recognisability: W` and `recogniser: OUT`.
"""

from __future__ import annotations

import argparse
import time

from lip2speech.training.recogniser import recogniser_split, train_recogniser
from lip2speech.training.run_folder import read_split
from lip2speech.training.train import test_keys_from


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", required=True, help="features folder (prepare --fs 16000)")
    ap.add_argument("--out", required=True, help="recogniser file to write (recogniser.pt)")
    ap.add_argument("--test-split", default="grid-s1", help="split.json or shipped model whose test clips are left out")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--leave-out", help="a run folder or split.json whose validation and test clips are never read "
                    "(instead of --test-split's)")
    args = ap.parse_args()
    if args.leave_out:
        held = read_split(args.leave_out)
        held_out = held["val"] + held["test"]
    else:
        held_out = test_keys_from(args.test_split)
    split = recogniser_split(args.features, held_out, seed=args.seed)
    print(f"{len(split['train'])} training, {len(split['val'])} validation clips; {len(split['test'])} test clips "
          "left out", flush=True)
    t0 = time.perf_counter()
    train_recogniser(args.features, split["train"], split["val"], args.out, epochs=args.epochs, seed=args.seed,
                     log=lambda s: print(s, flush=True))
    print(f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
