"""The levers of grid-s1 v2, each measured on and off on the same split: the shipped recipe on 160 of the 720
training clips, chosen on 43 validation clips (configs/grid-s1-levers.yaml); grid-s1's 80 test clips never used.

    python benchmarks/levers.py --corpus ../shared/data/grid-s1 --more ../shared/data/grid-s1-more \
        --features F16-720 --runs RUNS [--levers mouth,critic,wider] [--jobs 2] [--threads 1] \
        [--features-hires F16-720-FACES128]

Arms: `base` (the recipe as shipped), and one run per lever, each config naming the base and adding one thing:
`mouth` (the grey mouth region of the face crops, grid-s1-levers-mouth.yaml), `critic` (a patch critic's feature
matching and adversarial terms, grid-s1-levers-critic.yaml), `wider` (GRU 320, conv 384: as wide as two members
still ship in 25 MB, grid-s1-levers-wider.yaml), `longer` (96 epochs, grid-s1-levers-longer.yaml) and
`mouth-longer` (both, grid-s1-levers-mouth-longer.yaml), and `mouth-again` (a second one-cycle schedule of 48
epochs from the weights the `mouth` arm ended with: a warm restart, ship_grid_s1.py --cycles 2), and
`mouth-envelope` (the mouth arm with the band-envelope term, what STOI scores, at weight 8 instead of 4), and
`mouth-loudness` (the mouth arm with the loudness term: the frame loudness correlated over 128 ms windows,
grid-s1-levers-mouth-loudness.yaml), `mouth-dropout` (dropout 0.5 instead of 0.3) and `mouth-speed` (speed
augmentation, +-10%), two bids to carry the loudness course the net fits on its training clips over to new ones,
and `mouth-hires` (the mouth arm on face crops of 128 px instead of 64: a 64 x 96 mouth region, about the video's
own resolution), `mouth-hires-deep` (the same with a fourth stride-2 mouth layer,
grid-s1-levers-mouth-hires-deep.yaml) and `mouth-hires-again` (mouth-hires's second cycle, as mouth-again is the
mouth arm's), prepared with `--face-size 128` into the folder --features-hires; `mouth-hires-again-last`
(mouth-hires-again kept at its last epoch, as a shipped member is: `keep: last`; every other arm keeps its epoch of
lowest validation loss) and `mouth-hires-recognisability` (the same with the recognisability objective switched on:
a frozen spectrogram recogniser, trained into --recogniser when that file is missing on the true spectrograms of
every clip but the validation and test clips, as the shipped recipe's would be on its 720, reads the prediction, CTC
against the transcript; weight 0.1, grid-s1-levers-mouth-recognisability.yaml) and
`mouth-hires-recognisability-weak` (weight 0.03), each paired with mouth-hires-again-last, as is
`mouth-hires-again-gentle` (that second cycle at a quarter of the peak learning rate). --no-base leaves the base
arm out (and its pairings).
Seed 0, 48 epochs each unless named. Every run is scored
on the validation clips with speak's inversion against the original recordings, and each lever paired with the base
clip by clip (mean difference, 95% interval, wins / ties / losses), printed and written to RUNS/levers.md (the
card's lever table: ship_grid_s1.py --levers). Each step resumes (prepare, train, evaluate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ARMS = {"base": "grid-s1-levers", "mouth": "grid-s1-levers-mouth", "critic": "grid-s1-levers-critic",
        "wider": "grid-s1-levers-wider", "longer": "grid-s1-levers-longer",
        "mouth-longer": "grid-s1-levers-mouth-longer", "mouth-again": "grid-s1-levers-mouth",
        "mouth-envelope": "grid-s1-levers-mouth-envelope", "mouth-loudness": "grid-s1-levers-mouth-loudness",
        "mouth-dropout": "grid-s1-levers-mouth-dropout", "mouth-speed": "grid-s1-levers-mouth-speed",
        "mouth-hires": "grid-s1-levers-mouth", "mouth-hires-deep": "grid-s1-levers-mouth-hires-deep",
        "mouth-hires-again": "grid-s1-levers-mouth",
        "mouth-hires-again-last": "grid-s1-levers-mouth-last",
        "mouth-hires-again-gentle": "grid-s1-levers-mouth-gentle",
        "mouth-hires-recognisability": "grid-s1-levers-mouth-recognisability",
        "mouth-hires-recognisability-weak": "grid-s1-levers-mouth-recognisability-weak"}
# arms on --features-hires (HIRES_FACE px crops)
HIRES = {"mouth-hires", "mouth-hires-deep", "mouth-hires-again", "mouth-hires-again-last", "mouth-hires-again-gentle",
         "mouth-hires-recognisability", "mouth-hires-recognisability-weak"}
HIRES_FACE = 128
# arm -> the arm whose weights it starts from
FROM = {"mouth-again": "mouth", "mouth-hires-again": "mouth-hires", "mouth-hires-again-last": "mouth-hires",
        "mouth-hires-again-gentle": "mouth-hires",
        "mouth-hires-recognisability": "mouth-hires", "mouth-hires-recognisability-weak": "mouth-hires"}
BESIDE = {"mouth-again": "mouth", "mouth-envelope": "mouth", "mouth-loudness": "mouth", "mouth-dropout": "mouth",
          "mouth-speed": "mouth", "mouth-hires": "mouth", "mouth-hires-deep": "mouth",
          "mouth-hires-again": "mouth-hires",
          "mouth-hires-again-last": "mouth-hires", "mouth-hires-again-gentle": "mouth-hires-again-last",
          "mouth-hires-recognisability": "mouth-hires-again-last",
          "mouth-hires-recognisability-weak": "mouth-hires-again-last"}  # arm -> also paired with
KEYS = ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="grid-s1 (originals)")
    ap.add_argument("--more", type=Path, required=True, help="grid-s1-more (400 more s1 clips, re-encoded video)")
    ap.add_argument("--features", type=Path, required=True, help="both corpora prepared at 16 kHz into one folder")
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--features-hires", type=Path, help=f"both corpora prepared at 16 kHz with --face-size "
                    f"{HIRES_FACE} into one folder (the {', '.join(sorted(HIRES))} arms)")
    ap.add_argument("--levers", default="mouth,critic,wider", help=f"comma-separated, of {', '.join(list(ARMS)[1:])}")
    ap.add_argument("--recogniser", type=Path, help="the recognisability arm's recogniser.pt (trained when missing)")
    ap.add_argument("--no-base", action="store_true", help="leave the base arm out (no pairings with it)")
    ap.add_argument("--jobs", type=int, default=1, help="processes for preparing and the waveform metrics")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per training")
    args = ap.parse_args()

    from lip2speech.data.features import prepare
    from lip2speech.evaluation.evaluate import (EvalOptions, corpus_sources, evaluate_run, load_summary,
                                                read_per_utterance)
    from lip2speech.evaluation.metrics import paired_difference, paired_text
    from lip2speech.training.train import train_system
    from lip2speech.training.shipped import shown_path
    from lip2speech.training.train_config import load_train_config

    arms = ([] if args.no_base else ["base"]) + [a for a in args.levers.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        ap.error(f"unknown lever {unknown[0]!r} (choose from {', '.join(list(ARMS)[1:])})")
    needed = {**BESIDE, **FROM} if not args.no_base else FROM  # without the base, pairings are made where possible
    missing = [a for a in arms if a in needed and (needed[a] not in arms or arms.index(needed[a]) > arms.index(a))]
    if missing:
        ap.error(f"lever {missing[0]!r} builds on arm {needed[missing[0]]!r}: list that one before it")
    if any("recognisability" in a for a in arms) and args.recogniser is None:
        ap.error("the recognisability arm needs --recogniser (a recogniser.pt, trained when missing)")
    if HIRES & set(arms) and args.features_hires is None:
        ap.error(f"the {', '.join(sorted(HIRES & set(arms)))} arm(s) need --features-hires")
    for corpus in (args.corpus, args.more):
        if set(arms) - HIRES:
            print(prepare(corpus, args.features, jobs=args.jobs, fs=16000).summary(), flush=True)
        if HIRES & set(arms):
            print(prepare(corpus, args.features_hires, jobs=args.jobs, fs=16000, face_size=HIRES_FACE).summary(),
                  flush=True)
    sources = corpus_sources([args.corpus, args.more])
    opts = EvalOptions(jobs=args.jobs, samples=0).with_speak_inversion()
    results, cfgs = {}, {}
    for arm in arms:
        start = {"init_from": str(args.runs / FROM[arm])} if arm in FROM else {}
        if "recognisability" in arm:
            start["recogniser"] = str(_recogniser(args.recogniser, args.features_hires, args.runs / FROM[arm]))
        cfg = load_train_config(ARMS[arm], {"system": "gu2s", "seed": 0, "threads": args.threads, **start})
        cfgs[arm] = cfg
        run = train_system(cfg, args.features_hires if arm in HIRES else args.features, args.runs / arm)
        out = evaluate_run(run, "val", opts, sources=sources)
        results[arm] = (load_summary(out)["metrics"], {r["key"]: r for r in read_per_utterance(out / "per_utterance.csv")})
    lines = ["| arm | config | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS)]
    for arm, (m, _) in results.items():
        lines.append(f"| {arm} | {ARMS[arm]}.yaml | " + " | ".join(f"{m[k]['mean']:.3f}" for k in KEYS) + " |")
    first = arms[0]

    def paired(arm: str, against: str) -> str:
        rows, other_rows = results[arm][1], results[against][1]
        keys = sorted(set(rows) & set(other_rows))
        cells = []
        for k in KEYS:
            d = paired_difference([rows[u][k] for u in keys], [other_rows[u][k] for u in keys])
            cells.append(f"{k} {paired_text(d, counts=True)}")
        return "; ".join(cells)

    lines += ["", "Each lever minus base (and minus the arm it builds on), paired over the validation clips: mean "
              "[95% interval] (wins/ties/losses)"]
    lines += [f"- {arm}: {paired(arm, 'base')}" for arm in arms if "base" in arms and arm != "base"]
    lines += [f"- {arm} minus {BESIDE[arm]}: {paired(arm, BESIDE[arm])}" for arm in arms
              if arm in BESIDE and BESIDE[arm] in arms]
    cmd = (f"python benchmarks/levers.py --corpus {shown_path(args.corpus, 'CORPUS')} "
           f"--more {shown_path(args.more, 'MORE')} --features {shown_path(args.features, 'F16-720')} "
           f"--runs {shown_path(args.runs, 'RUNS')} --levers {','.join(a for a in arms if a != 'base')}")
    if args.no_base:
        cmd += " --no-base"
    if args.recogniser is not None:
        cmd += f" --recogniser {shown_path(args.recogniser, 'RECOGNISER')}"
    if HIRES & set(arms):
        cmd += f" --features-hires {shown_path(args.features_hires, 'F16-720-FACES128')}"
    base = cfgs[first]
    other = {}  # epochs other than the base's -> the arms trained that long
    for arm in arms:
        if cfgs[arm].max_epochs != base.max_epochs:
            other.setdefault(cfgs[arm].max_epochs, []).append(arm)
    epoch_text = f"{base.max_epochs} epochs" + "".join(f" ({n} for {', '.join(a)})" for n, a in other.items())
    epoch_text += "".join(f"; {arm}: {cfgs[arm].max_epochs} more from {FROM[arm]}'s weights" for arm in arms
                          if arm in FROM)
    lines += ["", f"{len(results[first][1])} validation clips, speak's inversion; seed 0, {base.train_clips} training clips "
              f"each, {epoch_text}. Made with `{cmd}`."]
    text = "## Levers (validation clips)\n\n" + "\n".join(lines) + "\n"
    (args.runs / "levers.md").write_text(text)
    print("\n" + text + f"\nwritten to {args.runs / 'levers.md'}")

def _recogniser(path: Path, features: Path, run: Path) -> Path:
    """`path`, trained first when missing on the true spectrograms of every clip but `run`'s validation and test
    clips (benchmarks/recogniser.py --leave-out RUN), as the shipped recipe's would be on its training clips."""
    if not path.is_file():
        from lip2speech.training.recogniser import recogniser_split, train_recogniser
        from lip2speech.training.run_folder import read_split

        held = read_split(run)
        split = recogniser_split(features, held["val"] + held["test"])
        train_recogniser(features, split["train"], split["val"], path, log=lambda s: print(s, flush=True))
    return path


if __name__ == "__main__":
    main()
