"""Train, evaluate and ship the grid-s1 model: gu2s on real GRID s1 clips (16 kHz audio path).

    python benchmarks/ship_grid_s1.py --corpus ../shared/data/grid-s1 --more ../shared/data/grid-s1-more \
        --features F16-720 --run RUN --jobs 2 [--cycles 2] [--first FIRST] [--levers LEVERS.md] [--scaling SCALING.md] \
        [--face-size 128 --previous-features F16-720]

Steps (each resumes): prepare grid-s1 (400 original clips) and grid-s1-more (400 more, re-encoded video) at 16 kHz
into one features folder (face crops of --face-size px); train the members, RUN/seed0 and RUN/seed1, side by side
(one process and one core each with --jobs 2): gu2s with configs/grid-s1-v2.yaml (the shipped recipe with the grey
mouth region, on every clip but grid-s1's 80 test clips: its 320 other originals and the 400 re-encoded ones;
--config picks another recipe), seed 0 and seed 1 on the same split; export the
model that averages them into RUN/grid-s1; evaluate it on the 80 test clips (originals) with every metric against
the original recordings (with speak's inversion and with evaluate's default one), each member alone with speak's
inversion, and corr2 on the training clips; write src/lip2speech/weights/grid-s1/ (float16 weights, split.json,
card.md, card.json) and copy two test clips into src/lip2speech/demo_clips/ for `lip2speech demo`. The card
includes the lever table (benchmarks/levers.py) and the data-scaling table when their files are given.
Without --more, it ships the first recipe (configs/grid-s1.yaml, 320 training clips). With --cycles N, each member
trains N one-cycle schedules in turn, each starting from the weights the one before ended with (a warm restart:
`init_from`, a fresh optimiser and schedule): cycle 1 in RUN/seed<i>, cycle c in RUN/cycle<c>/seed<i>; the last
cycle's members ship. The card pairs the new model with the one it replaces (a copy of the package's weights kept
beside the members as previous-grid-s1, scored on --previous-features when it reads face crops of another size) and,
with --first, with the first grid-s1 as well.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lip2speech"
NAME = "grid-s1"
CLIPS = 2  # test clips shipped for the demo

METRIC_NAMES = {"corr2": "corr2", "stoi": "STOI", "estoi": "ESTOI", "pesq": "PESQ (NB)",
                "wacc": "word accuracy (recogniser on the reconstruction)",
                "wacc_lips": "word accuracy (words read from the lips)",
                "wacc_orig": "word accuracy (recogniser on the original recording)"}


def commit() -> str:
    """The git commit of the checkout (with '+changes' when the tree is dirty)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return head.strip() + ("+changes" if dirty else "")


def _cell(m: dict, k: str) -> str:
    """'mean [low, high]' of metric k in a summary's metrics, or '-'."""
    if k not in m or not m[k].get("n"):
        return "-"
    return f"{m[k]['mean']:.3f} [{m[k]['ci_low']:.3f}, {m[k]['ci_high']:.3f}]"


def data_text(n_train: int, n_more: int) -> str:
    """The card's data paragraph: `n_train` training clips, `n_more` of them grid-s1-more's re-encoded ones."""
    grid = "the GRID corpus (Cooke, Barker, Cunningham, Shao 2006; CC BY 4.0)"
    if not n_more:
        return f"""400 GRID videos of speaker s1 (normal quality MPEG-1, 25 fps, with their alignments), of
  {grid}. Split 80/20 with seed 0: {n_train} clips trained (the recipe was chosen on 32 of them held out for
  validation; the shipped members then trained on all {n_train}, with no validation), 80 held out as the test set
  (listed in split.json). The scores below are on those 80 test clips, which the model never saw."""
    return f"""{n_train} clips of GRID speaker s1 trained, of {grid}: {n_train - n_more} original clips
  (normal quality MPEG-1, 25 fps) and **{n_more} re-encoded clips** (grid-s1-more: H.264 video at CRF 22, the
  original audio; named in card.json, `reencoded_training_clips`), all with their alignments, no validation. The
  80 test clips (originals, listed in split.json) are the test split of the first grid-s1 (seed 0 of an 80/20
  split of 400 originals), so every score before stays comparable; the model never saw them, and no choice was
  made on them (the levers were chosen on validation clips, below)."""


def card_text(speak: dict, summary: dict, train_summary: dict, members: list[dict], params: int,
              cmd: str, rev: str, clips: list[str], config: str = "grid-s1", n_more: int = 0,
              tables: str = "", mouth: tuple[int, int] | None = None) -> str:
    """The model card (Markdown): test scores with speak's inversion and with evaluate's default one, and each
    member's alone (`members`: seed, epochs, seconds, speak-inversion test summary); `tables` (Markdown) after;
    `mouth`: the (height, width) px of the grey mouth region it reads, or None."""
    m, ms = summary["metrics"], speak["metrics"]
    inputs = f" and the grey mouth region of the face crop ({mouth[0]}x{mouth[1]})" if mouth else ""
    rows = "\n".join(f"| {METRIC_NAMES[k]} | {_cell(ms, k)} | {_cell(m, k)} | {m[k]['n']} |"
                     for k in METRIC_NAMES if k in m and m[k].get("n"))
    keys = [k for k in METRIC_NAMES if k in ms and ms[k].get("n")]
    member_rows = "\n".join(f"| seed {mb['seed']} alone | " + " | ".join(f"{mb['speak']['metrics'][k]['mean']:.3f}"
                                                                        for k in keys) + " |" for mb in members)
    minutes = ", ".join(f"{mb['seconds'] / 60:.0f}" for mb in members)
    cycles = members[0].get("cycles", 1)
    schedule = (f" in {cycles} one-cycle schedules of {members[0]['epochs'] // cycles}, each from the weights the "
                f"one before ended with" if cycles > 1 else "")
    n_train = train_summary["metrics"]["corr2"]["n"]
    seeds = ", ".join(str(mb["seed"]) for mb in members)
    return f"""# {NAME}: gu2s trained on real GRID speaker s1

Whole-utterance Gabor lips-to-speech (gu2s) trained on GRID speaker s1, 16 kHz audio path.

- **Data**: {data_text(n_train, n_more)}
- **Model**: the average of {len(members)} gu2s models trained alike from seeds {seeds}
  (spectrograms averaged in the compressed domain, word probabilities averaged), {params:,} parameters in all,
  shipped in float16; inputs Gabor pictures (40x80), the seven Gabor features{inputs} per frame; output 128-channel
  auditory spectrogram at 8 ms (16 kHz NSL model); a CTC read-out of the 51 GRID words (the words read from the
  lips). Scored below twice: with `speak`'s inversion (1 conjugate-gradient iteration from a harmonic start at
  90 Hz: what users hear; `evaluate --speak-inversion`) and with `evaluate`'s default (20 L-BFGS iterations from
  the sine start, the inversion the published systems are scored with).
- **Training**: {members[0]['epochs']} epochs each{schedule} ({minutes} min, the members side by side, one CPU
  core each; configs/{config}.yaml).
- **Command**: `{cmd}`
  (F16-720 and RUN: any folders, made when missing; FIRST: a copy of the first grid-s1's weights folder with
  a config.yaml; LEVERS.md, SCALING.md: the tables benchmarks/levers.py and benchmarks/data_scaling.py write)
- **Commit**: {rev}
- **Speaker-dependent**: trained on one speaker; on other speakers expect much lower scores.

## Test-set scores (80 held-out s1 clips; 95% Student-t intervals)

| metric | speak's inversion: mean [95% CI] | evaluate's inversion: mean [95% CI] | n |
|---|---|---|---|
{rows}

Each member alone (speak's inversion, the same 80 test clips):

| model | {' | '.join(METRIC_NAMES[k] for k in keys)} |
|---|{'---|' * len(keys)}
{member_rows}

corr2 on the {n_train} training clips: {train_summary['metrics']['corr2']['mean']:.3f}.
Demo clips shipped with lip2speech (from the test set): {', '.join(clips)}.
{tables}"""


PAIRED = ("corr2", "stoi", "estoi", "pesq", "wacc", "wacc_lips")


def paired_with_previous(new_eval: Path, previous: Path, corpus: Path, opts,
                         title: str = "the grid-s1 it replaces") -> str:
    """The card's section comparing the new model with an earlier one (`previous`: a copy of a shipped weights
    folder with a config.yaml naming the features; by default the one it replaces), paired clip by clip on the test
    split with the same inversion; '' when there is no previous model."""
    from lip2speech.evaluation.evaluate import evaluate_run, read_per_utterance
    from lip2speech.evaluation.metrics import paired_difference, paired_text

    if not (previous / "model.ckpt").is_file():
        return ""
    old_eval = evaluate_run(previous, "test", opts, corpus=corpus)
    new = {r["key"]: r for r in read_per_utterance(new_eval / "per_utterance.csv")}
    old = {r["key"]: r for r in read_per_utterance(old_eval / "per_utterance.csv")}
    keys = sorted(set(new) & set(old))
    lines = [f"## Against {title} ({len(keys)} test clips, speak's inversion, paired)", "",
             "| metric | previous | this | this minus previous [95% CI] | wins / ties / losses |", "|---|---|---|---|---|"]
    for k in PAIRED:
        a, b = [new[u][k] for u in keys], [old[u][k] for u in keys]
        d = paired_difference(a, b)
        lines.append(f"| {METRIC_NAMES.get(k, k)} | {sum(b) / len(b):.3f} | {sum(a) / len(a):.3f} | "
                     f"{paired_text(d)} | "
                     f"{d['wins']} / {d['ties']} / {d['losses']} |")
    return "\n" + "\n".join(lines) + "\n"


def member_dir(run: Path, cycle: int, seed: int) -> Path:
    """The run folder of member `seed` after one-cycle schedule `cycle` (1-based): RUN/seed<i>, RUN/cycle<c>/seed<i>."""
    return (run if cycle == 1 else run / f"cycle{cycle}") / f"seed{seed}"


def member_overrides(run: Path, cycle: int, seed: int) -> dict:
    """The TrainConfig overrides of one member and cycle: its seed, and from cycle 2 on the weights to start from."""
    return {"seed": seed, **({"init_from": str(member_dir(run, cycle - 1, seed))} if cycle > 1 else {})}


def train_members(config: str, features: Path, run: Path, members: int, jobs: int, cycle: int = 1) -> None:
    """Train (or resume) the members of packaged config `config` for one-cycle schedule `cycle` (member_dir), up
    to `jobs` side by side, each its own `lip2speech train` process on one core; a member that fails stops the
    shipping with its log named."""
    import yaml

    from lip2speech.training.run_folder import is_finished
    from lip2speech.training.train_config import CONFIG_DIR

    todo = [seed for seed in range(members) if not is_finished(member_dir(run, cycle, seed))]
    while todo:
        batch, todo = todo[:max(1, jobs)], todo[max(1, jobs):]
        procs = []
        for seed in batch:
            out = member_dir(run, cycle, seed)
            out.mkdir(parents=True, exist_ok=True)
            cfg = out.parent / f"seed{seed}.yaml"  # the packaged config with this member's seed (and start)
            cfg.write_text(yaml.safe_dump({"base": str(CONFIG_DIR / (config + ".yaml")),
                                           **member_overrides(run, cycle, seed)}, sort_keys=False))
            log = (out.parent / f"seed{seed}.log").open("w")
            procs.append((seed, log, subprocess.Popen(
                [sys.executable, "-m", "lip2speech", "train", "--system", "gu2s", "-f", str(features), "-o", str(out),
                 "-c", str(cfg), "--threads", "1"], stdout=log, stderr=subprocess.STDOUT)))
            print(f"training seed {seed}, cycle {cycle} -> {out} (log: {log.name})", flush=True)
        for seed, log, proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"training seed {seed} failed: see {log.name}")
            log.close()


def training_mouth_framing(features: Path, keys: list[str]) -> dict:
    """The shipped model's framing record (export_model's `framing`): the median over the training clips `keys` of
    each clip's median mouth box width (px, video px as prepared), the scale `speak` brings other footage to."""
    import numpy as np

    from lip2speech.data.mouth_scale import item_mouth_widths

    widths = item_mouth_widths(features / "items" / f"{key}.npz" for key in keys)
    low, high = np.percentile(widths, [5, 95])
    return {"mouth_width": float(np.median(widths)), "measured_on": (
        f"grid-s1's {len(keys)} training clips (lips at video px): median of the clips' median mouth box "
        f"widths (5-95%: {low:.0f}-{high:.0f} px)"), "command": "benchmarks/ship_grid_s1.py: training_mouth_framing"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="grid-s1 (400 originals; its test clips are scored)")
    ap.add_argument("--more", type=Path, default=None, help="grid-s1-more (400 more s1 clips, re-encoded video)")
    ap.add_argument("--levers", type=Path, default=None, help="the lever table of benchmarks/levers.py (Markdown)")
    ap.add_argument("--scaling", type=Path, default=None, help="the data-scaling table (Markdown)")
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--members", type=int, default=2, help="models averaged, seeds 0 .. members-1 (2)")
    ap.add_argument("--cycles", type=int, default=1,
                    help="one-cycle schedules per member, each from the last one's weights (1)")
    ap.add_argument("--config", default=None,
                    help="packaged recipe (grid-s1-v2 with --more: the 720 clips and the mouth region; else grid-s1)")
    ap.add_argument("--face-size", type=int, default=None, help="side (px) of the face crops the features are "
                    "prepared with (their mouth region is half as high; default: lip2speech's, 64)")
    ap.add_argument("--previous-features", type=Path, default=None,
                    help="features folder the model it replaces reads (its face crop size; default: --features)")
    ap.add_argument("--eval-utterances", type=int, default=None, help="test clips with waveform metrics (all)")
    ap.add_argument("--first", type=Path, default=None,
                    help="a copy of the first grid-s1's weights folder (with a config.yaml) to pair with as well")
    args = ap.parse_args()
    if args.cycles < 1:
        ap.error("--cycles must be 1 or more")

    from lip2speech.evaluation.evaluate import EvalOptions, evaluate_run, load_summary
    from lip2speech.data.features import prepare
    from lip2speech.data.lip_inputs import model_mouth_size
    from lip2speech.lips.crop_size import FACE_SIZE
    from lip2speech.training.run_folder import load_checkpoint, read_split
    from lip2speech.training.shipped import export_model, shown_path
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    config = args.config or ("grid-s1-v2" if args.more else NAME)
    for corpus in [args.corpus] + ([args.more] if args.more else []):
        print(prepare(corpus, args.features, jobs=args.jobs, fs=16000, face_size=args.face_size or FACE_SIZE).summary(),
              flush=True)
    from lip2speech.training.metrics_csv import epoch_seconds

    for cycle in range(1, args.cycles + 1):
        train_members(config, args.features, args.run, args.members, args.jobs, cycle)
    members = []
    for seed in range(args.members):
        epochs, seconds = 0, 0.0
        for cycle in range(1, args.cycles + 1):
            run = train_system(load_train_config(config, {"system": "gu2s", **member_overrides(args.run, cycle, seed)}),
                               args.features, member_dir(args.run, cycle, seed))  # finished above: reused as it is
            epochs += json.loads((run / "summary.json").read_text())["epochs"]
            seconds += sum(epoch_seconds(run))
        print(f"trained seed {seed}: {epochs} epochs in {args.cycles} cycle(s)", flush=True)
        members.append({"seed": seed, "run": run, "epochs": epochs, "cycles": args.cycles, "seconds": seconds})
    runs = [mb["run"] for mb in members]
    ens = runs[0].parent / NAME  # the averaged model as a run folder (beside its members), evaluated before it ships
    export_model(runs, ens, f"# {NAME} (not shipped yet)\n")
    shutil.copyfile(runs[0] / "config.yaml", ens / "config.yaml")  # where its features are
    opts = EvalOptions(waveform_utterances=args.eval_utterances, jobs=args.jobs, samples=2)
    test = load_summary(evaluate_run(ens, "test", opts, corpus=args.corpus))
    speak = load_summary(evaluate_run(ens, "test", opts.with_speak_inversion(), corpus=args.corpus))
    train = load_summary(evaluate_run(ens, "train", EvalOptions(waveform=False, samples=0)))
    for mb in members:
        mb["speak"] = load_summary(evaluate_run(mb["run"], "test", opts.with_speak_inversion(), corpus=args.corpus))
    split = read_split(ens)
    clips = split["test"][:CLIPS]
    cmd = (f"python benchmarks/ship_grid_s1.py --corpus {shown_path(args.corpus, 'CORPUS')}"
           + (f" --more {shown_path(args.more, 'MORE')}" if args.more else "")
           + f" --features {shown_path(args.features, 'F16-720')} --run {shown_path(args.run, 'RUN')}"
           + f" --jobs {args.jobs}"
           + (f" --config {args.config}" if args.config else "")
           + (f" --face-size {args.face_size}" if args.face_size else "")
           + (f" --previous-features {shown_path(args.previous_features, 'F16-720')}" if args.previous_features else "")
           + (f" --cycles {args.cycles}" if args.cycles > 1 else "")
           + (f" --first {shown_path(args.first, 'FIRST')}" if args.first else "")
           + "".join(f" --{k} {shown_path(v, k.upper() + '.md')}" for k, v in (("levers", args.levers),
                                                                               ("scaling", args.scaling)) if v))
    meta = load_checkpoint(ens / "model.ckpt")["lip2speech"]
    params = int(meta["params"])  # export_model's sum over members
    more_keys = set()
    if args.more:
        from lip2speech.evaluation.evaluate import corpus_sources

        more_keys = set(corpus_sources(args.more)) & set(split["train"])
    previous = ens.parent / f"previous-{NAME}"  # the model this one replaces, kept to pair the two on the test clips
    if not previous.is_dir() and (PACKAGE / "weights" / NAME / "model.ckpt").is_file():
        shutil.copytree(PACKAGE / "weights" / NAME, previous)
        import yaml

        cfg = yaml.safe_load((runs[0] / "config.yaml").read_text())  # where its features are
        cfg["features"] = str(args.previous_features or args.features)
        (previous / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    speak_eval = evaluate_run(ens, "test", opts.with_speak_inversion(), corpus=args.corpus)  # up to date: reused
    tables = paired_with_previous(speak_eval, previous, args.corpus, opts.with_speak_inversion())
    if args.first:
        tables += paired_with_previous(speak_eval, args.first, args.corpus, opts.with_speak_inversion(),
                                       "the first grid-s1")
    tables += "".join(f"\n{path.read_text().strip()}\n" for path in (args.levers, args.scaling) if path)
    text = card_text(speak, test, train, members, params, cmd, commit(), [c.split("/")[1] for c in clips],
                     config, len(more_keys), tables,
                     model_mouth_size(meta["model_kwargs"]) if meta["model_kwargs"].get("use_mouth") else None)
    extra = {"name": NAME, "test": dict(test["metrics"]), "test_speak_inversion": dict(speak["metrics"]),
             "train_corr2": train["metrics"]["corr2"],
             "member_scores": [{"seed": mb["seed"], "epochs": mb["epochs"], "train_seconds": mb["seconds"],
                                "test_speak_inversion": dict(mb["speak"]["metrics"])} for mb in members],
             "command": cmd, "commit": commit(), "demo_clips": [c.split("/")[1] for c in clips],
             "config": config, "reencoded_training_clips": sorted(more_keys)}
    out = export_model(runs, PACKAGE / "weights" / NAME, text, extra,
                       framing=training_mouth_framing(args.features, split["train"]))
    clip_dir = PACKAGE / "demo_clips"
    clip_dir.mkdir(exist_ok=True)
    for old in clip_dir.glob("*.mpg"):
        old.unlink()
    for key in clips:
        speaker, stem = key.split("/")
        shutil.copyfile(args.corpus / speaker / f"{stem}.mpg", clip_dir / f"{stem}.mpg")
    print(text)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {len(clips)} demo clips in {clip_dir}")


if __name__ == "__main__":
    main()
