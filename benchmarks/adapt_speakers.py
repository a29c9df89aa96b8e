"""Adapting grid-s1 to new speakers: zero-shot against adapted on 5, 10 and 15 clips of each speaker, 4-fold.

    python benchmarks/adapt_speakers.py --corpus ../shared/data/grid-speakers --features F --out DIR \
        [--speakers s2,s3,s5] [--sizes 15,10,5] [--folds 0,1,2,3] [--model grid-s1] [--lr LR] [--epochs N] \
        [--report-only] [--against DIR2]

F: `lip2speech prepare CORPUS --out F --fs 16000 --face-size MODEL` (made here when missing, with the face crop
size the model reads), prepared once and used both to adapt
(the clips passed by key) and to score. Per speaker the 20 clips are shuffled (seed 0) into 4 folds of 5; fold f
tests its 5 clips after adapting on the other 15 (adapt's 20% hold-out: 12 train, 3 validate), or on the first 5
or 10 of those 15 in a seeded order (seed = fold), so each clip is tested once per size. Every metric with
`evaluate`'s scoring and speak's inversion against the original recordings. Resumable: one run folder per
speaker/fold/size under DIR/runs (its evaluation in RUN/eval-test), the zero-shot scores in
DIR/zero-shot/<speaker>; several invocations on disjoint --speakers/--folds/--sizes may run at once. Prints
per-speaker and pooled tables (mean and 95% interval over the clips) and the mean adaptation time per size. With
--against DIR2 (another --out of this benchmark: another base model or recipe), each condition is also paired with
DIR2's over the clips both scored: this minus that, mean [95% interval] (wins / ties / losses).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

METRICS = ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips")
N_FOLDS = 4


def folds(keys: list[str], seed: int = 0) -> list[list[str]]:
    """The speaker's keys shuffled (seeded) into N_FOLDS folds."""
    keys = sorted(keys)
    perm = np.random.default_rng(seed).permutation(len(keys))
    return [sorted(keys[i] for i in perm[f::N_FOLDS]) for f in range(N_FOLDS)]


def adaptation_keys(pool: list[str], size: int, fold: int) -> list[str]:
    """The first `size` of the fold's 15 adaptation clips in a seeded order (5 within 10 within 15)."""
    order = [pool[i] for i in np.random.default_rng(fold).permutation(len(pool))]
    return sorted(order[:size])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="grid-s1")
    ap.add_argument("--speakers", default="s2,s3,s5")
    ap.add_argument("--sizes", default="15,10,5")
    ap.add_argument("--folds", default="0,1,2,3")
    ap.add_argument("--lr", type=float, default=None, help="adaptation learning rate (default: configs/adapt.yaml)")
    ap.add_argument("--epochs", type=int, default=None, help="adaptation epochs (default: configs/adapt.yaml)")
    ap.add_argument("--report-only", action="store_true", help="only print the tables of what is there")
    ap.add_argument("--against", type=Path, default=None, help="another --out folder to pair every condition with")
    args = ap.parse_args()

    from lip2speech.training.adapt import adapt
    from lip2speech.evaluation.evaluate import EvalOptions, corpus_sources, evaluate_predictor
    from lip2speech.data.features import prepare
    from lip2speech.inference import load_run
    from lip2speech.data.store import FeatureStore

    speakers = [s for s in args.speakers.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    fold_ids = [int(f) for f in args.folds.split(",") if f]
    opts = EvalOptions(samples=0).with_speak_inversion()
    over = {k: v for k, v in (("lr", args.lr), ("max_epochs", args.epochs)) if v is not None}
    if not args.report_only:
        base = load_run(args.model)
        if not (args.features / "features.json").is_file():  # face crops of the size the base model reads
            prepare(args.corpus, args.features, speakers, fs=16000, face_size=base.face_size)
        base.check_features(args.features)
        sources = corpus_sources(args.corpus)
        store = FeatureStore(args.features)
        for spk in speakers:  # the base model as it is, on all of the speaker's clips
            zs = args.out / "zero-shot" / spk / "eval-all"
            if not (zs / "summary.json").is_file():
                evaluate_predictor(load_run(args.model), args.features, sorted(store.keys((spk,))), zs, opts,
                                   sources=sources, show_progress=False)
        for size in sizes:
            for spk in speakers:
                fs_ = folds(store.keys((spk,)))
                for f in fold_ids:
                    test = fs_[f]
                    pool = sorted(k for g, ks in enumerate(fs_) if g != f for k in ks)
                    run = args.out / "runs" / f"{spk}-f{f}-n{size}"
                    if not (run / "eval-test" / "summary.json").is_file():
                        t0 = time.perf_counter()
                        rep = adapt(args.model, run, features=args.features,
                                    keys=adaptation_keys(pool, size, f), overrides=over, show_progress=False)
                        print(f"{run.name}: {rep.summary()}", flush=True)
                        evaluate_predictor(load_run(run), args.features, test, run / "eval-test", opts,
                                           sources=sources, show_progress=False)
                        print(f"{run.name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    report(args.out, speakers)
    if args.against:
        paired_report(args.out, args.against)


def condition_rows(out: Path) -> tuple[dict[str, list[dict]], dict[int, list[dict]]]:
    """The per-clip rows of every condition under `out` ({'zero-shot' | 'adapted N': rows}) and each size's
    adapt.json records."""
    from lip2speech.evaluation.eval_folder import read_per_utterance

    rows: dict[str, list[dict]] = {}
    for zs in sorted((out / "zero-shot").glob("*/eval-all/per_utterance.csv")):
        rows.setdefault("zero-shot", []).extend(read_per_utterance(zs))
    cost: dict[int, list[dict]] = {}
    for ev in sorted((out / "runs").glob("*/eval-test/per_utterance.csv")):
        size = int(ev.parent.parent.name.rsplit("-n", 1)[1])
        rows.setdefault(f"adapted {size}", []).extend(read_per_utterance(ev))
        info = json.loads((ev.parent.parent / "adapt.json").read_text())
        cost.setdefault(size, []).append(info)
    return rows, cost


def condition_order(rows: dict[str, list[dict]]) -> list[str]:
    """The conditions present in `rows`: zero-shot first, then the adapted ones by clip count."""
    return sorted(rows, key=lambda c: -1 if c == "zero-shot" else int(c.split()[1]))


def paired_report(out: Path, against: Path) -> None:
    """Each condition of `out` minus the same condition of `against`, paired over the clips both scored."""
    from lip2speech.evaluation.metrics import paired_difference, paired_text

    mine, _ = condition_rows(out)
    theirs, _ = condition_rows(against)
    print(f"\n## {out.name} minus {against.name}, paired over the clips both scored: mean [95% interval] "
          "(wins / ties / losses)\n")
    print("| condition | clips | " + " | ".join(METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    for c in condition_order(mine):
        rs = mine[c]
        other = {r["key"]: r for r in theirs.get(c, [])}
        both = [(r, other[r["key"]]) for r in rs if r["key"] in other]
        if not both:
            continue
        cells = []
        for m in METRICS:
            d = paired_difference([float(a[m]) for a, _ in both], [float(b[m]) for _, b in both])
            cells.append(paired_text(d, counts=True))
        print(f"| {c} | {len(both)} | " + " | ".join(cells) + " |")


def report(out: Path, speakers: list[str]) -> None:
    """Per-speaker and pooled tables of every condition found under `out`, and the adaptation cost."""
    from lip2speech.evaluation.metrics import METRIC_RANGES, mean_ci

    rows, cost = condition_rows(out)
    order = condition_order(rows)
    runs_done = {c: len({r["key"] for r in rows[c]}) for c in order}
    tested = set().union(*({r["key"] for r in rows[c]} for c in order if c != "zero-shot"))

    def cell(values: list[float], m: str) -> str:
        s = mean_ci(values, bounds=METRIC_RANGES.get(m))
        return f"{s['mean']:.3f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]" if s["n"] else "-"

    for scope in [*speakers, "pooled"]:
        print(f"\n## {scope}\n")
        print("| condition | clips | " + " | ".join(METRICS) + " |")
        print("|---|---|" + "---|" * len(METRICS))
        for c in order:
            rs = [r for r in rows[c] if scope == "pooled" or r["key"].split("/")[0] == scope]
            if c == "zero-shot" and tested:  # the clips that the adapted conditions tested
                rs = [r for r in rs if r["key"] in tested]
            if not rs:
                continue
            print(f"| {c} | {len(rs)} | " + " | ".join(cell([r[m] for r in rs], m) for m in METRICS) + " |")
    for size, infos in sorted(cost.items()):
        secs = [i["seconds"] for i in infos]
        cpu = [i.get("cpu_seconds", float("nan")) for i in infos]
        print(f"\nadaptation on {size} clips: {np.mean(secs):.0f} s mean wall ({min(secs):.0f}-{max(secs):.0f} s), "
              f"{np.mean(cpu):.0f} s mean CPU ({min(cpu):.0f}-{max(cpu):.0f} s) over {len(infos)} run(s), "
              f"{np.mean([i['epochs'] for i in infos]):.0f} epochs, {infos[0].get('threads', 1)} thread(s)")
    print(f"\nclips scored per condition: {runs_done}")


if __name__ == "__main__":
    main()
