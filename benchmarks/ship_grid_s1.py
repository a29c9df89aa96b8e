"""Train, evaluate and ship the grid-s1 model: gu2s on the 400 real GRID s1 clips (16 kHz audio path).

    python benchmarks/ship_grid_s1.py --corpus ../shared/data/grid-s1 --features F16 --run RUN [--jobs 2]

Steps (each resumes): prepare the clips at 16 kHz into F16; train the members, RUN/seed0 and RUN/seed1: gu2s
with configs/grid-s1.yaml (the gu2s recipe of configs/gu2s.yaml, chosen on the validation clips of the 80/20
split of seed 0, trained on its 288 training and 32 validation clips together, no validation; the 80 test clips
never used for training or model selection), seed 0 and seed 1 on the same split; export the model that averages
them into RUN/grid-s1; evaluate it on the test split with every metric against the original recordings (with
speak's inversion and with evaluate's default one), each member alone with speak's inversion, and corr2 on the
training split; write src/lip2speech/weights/grid-s1/ (float16 weights, split.json, card.md, card.json) and copy
two test clips into src/lip2speech/demo_clips/ for `lip2speech demo`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
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


def card_text(speak: dict, summary: dict, train_summary: dict, members: list[dict], params: int,
              cmd: str, rev: str, clips: list[str]) -> str:
    """The model card (Markdown): test scores with speak's inversion and with evaluate's default one, and each
    member's alone (`members`: seed, epochs, seconds, speak-inversion test summary)."""
    m, ms = summary["metrics"], speak["metrics"]
    rows = "\n".join(f"| {METRIC_NAMES[k]} | {_cell(ms, k)} | {_cell(m, k)} | {m[k]['n']} |"
                     for k in METRIC_NAMES if k in m and m[k].get("n"))
    keys = [k for k in METRIC_NAMES if k in ms and ms[k].get("n")]
    member_rows = "\n".join(f"| seed {mb['seed']} alone | " + " | ".join(f"{mb['speak']['metrics'][k]['mean']:.3f}"
                                                                        for k in keys) + " |" for mb in members)
    minutes = ", ".join(f"{mb['seconds'] / 60:.0f}" for mb in members)
    n_train = train_summary["metrics"]["corr2"]["n"]
    seeds = ", ".join(str(mb["seed"]) for mb in members)
    return f"""# {NAME}: gu2s trained on real GRID speaker s1

Whole-utterance Gabor lips-to-speech (gu2s) trained on GRID speaker s1, 16 kHz audio path.

- **Data**: 400 GRID videos of speaker s1 (normal quality MPEG-1, 25 fps, with their alignments), of the
  GRID corpus (Cooke, Barker, Cunningham, Shao 2006; CC BY 4.0). Split 80/20 with seed 0: {n_train} clips trained
  (the recipe was chosen on 32 of them held out for validation; the shipped members then trained on all
  {n_train}, with no validation), 80 held out as the test set (listed in split.json). The scores below are on those
  80 test clips, which the model never saw.
- **Model**: the average of {len(members)} gu2s models trained alike from seeds {seeds}
  (spectrograms averaged in the compressed domain, word probabilities averaged), {params:,} parameters in all,
  shipped in float16; inputs Gabor pictures (40x80) and the seven Gabor features per frame; output 128-channel
  auditory spectrogram at 8 ms (16 kHz NSL model); a CTC read-out of the 51 GRID words (the words read from the
  lips). Scored below twice: with `speak`'s inversion (1 conjugate-gradient iteration from a harmonic start at
  90 Hz: what users hear; `evaluate --speak-inversion`) and with `evaluate`'s default (20 L-BFGS iterations from
  the sine start, the inversion the published systems are scored with).
- **Training**: {members[0]['epochs']} epochs each ({minutes} min, the members side by side, one CPU core each;
  configs/grid-s1.yaml).
- **Command**: `{cmd}`
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
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--members", type=int, default=2, help="models averaged, seeds 0 .. members-1 (2)")
    ap.add_argument("--eval-utterances", type=int, default=None, help="test clips with waveform metrics (all)")
    args = ap.parse_args()

    from lip2speech.evaluation.evaluate import EvalOptions, evaluate_run, load_summary
    from lip2speech.data.features import prepare
    from lip2speech.training.run_folder import load_checkpoint
    from lip2speech.training.shipped import export_model
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    if not (args.features / "features.json").is_file() or not (args.features / "manifest").is_dir():
        print(prepare(args.corpus, args.features, jobs=args.jobs, fs=16000).summary(), flush=True)
    import csv

    members = []
    for seed in range(args.members):
        t0 = time.perf_counter()
        run = train_system(load_train_config(NAME, {"system": "gu2s", "seed": seed}), args.features,
                           args.run / f"seed{seed}")
        summary = json.loads((run / "summary.json").read_text())
        print(f"trained seed {seed}: {summary['epochs']} epochs ({time.perf_counter() - t0:.0f} s this session)",
              flush=True)
        rows = list(csv.DictReader((run / "metrics.csv").open()))
        members.append({"seed": seed, "run": run, "epochs": summary["epochs"],
                        "seconds": sum(float(r["epoch_seconds"]) for r in rows if r.get("epoch_seconds"))})
    runs = [mb["run"] for mb in members]
    ens = args.run / NAME  # the averaged model as a run folder, to evaluate it before it ships
    export_model(runs, ens, f"# {NAME} (not shipped yet)\n")
    shutil.copyfile(runs[0] / "config.yaml", ens / "config.yaml")  # where its features are
    opts = EvalOptions(waveform_utterances=args.eval_utterances, jobs=args.jobs, samples=2)
    test = load_summary(evaluate_run(ens, "test", opts, corpus=args.corpus))
    speak = load_summary(evaluate_run(ens, "test", opts.with_speak_inversion(), corpus=args.corpus))
    train = load_summary(evaluate_run(ens, "train", EvalOptions(waveform=False, samples=0)))
    for mb in members:
        mb["speak"] = load_summary(evaluate_run(mb["run"], "test", opts.with_speak_inversion(), corpus=args.corpus))
    split = json.loads((ens / "split.json").read_text())
    clips = split["test"][:CLIPS]
    cmd = (f"python benchmarks/ship_grid_s1.py --corpus {args.corpus} --features {args.features} "
           f"--run {args.run} --jobs {args.jobs}")
    params = int(load_checkpoint(ens / "model.ckpt")["lip2speech"]["params"])  # export_model's sum over members
    text = card_text(speak, test, train, members, params, cmd, commit(), [c.split("/")[1] for c in clips])
    extra = {"name": NAME, "test": dict(test["metrics"]), "test_speak_inversion": dict(speak["metrics"]),
             "train_corr2": train["metrics"]["corr2"],
             "member_scores": [{"seed": mb["seed"], "epochs": mb["epochs"], "train_seconds": mb["seconds"],
                                "test_speak_inversion": dict(mb["speak"]["metrics"])} for mb in members],
             "command": cmd, "commit": commit(), "demo_clips": [c.split("/")[1] for c in clips]}
    out = export_model(runs, PACKAGE / "weights" / NAME, text, extra)
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
