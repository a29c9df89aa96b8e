"""Train all systems side by side and print: held-out corr2 vs the mean-spectrogram and shuffled-lips controls,
parameter count, training time per epoch, inference time per second of video, peak memory (and its growth with
the number of utterances), `speak` speed on one core, and per system the training samples per second on every
accelerator found (the CPU, and a CUDA GPU when there is one).

    python benchmarks/train.py --features FEATURES --out RUNS [--config train] [--systems gf2s] [--jobs 2]
                               [--memory-check] [--video clip.mp4] [--accelerators cpu,gpu] [--speed-only]
    python benchmarks/train.py --synthetic --out RUNS --config fast      # generated arrays, no video pipeline

Every training runs in its own subprocess so that its peak RSS is its own. `--config fast` uses the per-system
variant configs/fast-<system>.yaml where one exists (as the demo and experiments do).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lip2speech.models.systems import PUBLISHED_SYSTEMS as SYSTEMS
from lip2speech.training.run_folder import read_split


def train_one(args: argparse.Namespace) -> None:
    """Child process: train one system, print JSON with run folder, epochs, seconds per epoch, peak RSS."""
    from lip2speech.training.metrics_csv import epoch_seconds
    from lip2speech.training.train import train_system
    from lip2speech.training.train_config import load_train_config

    over = json.loads(args.overrides)
    cfg = load_train_config(args.config, over)
    run = train_system(cfg, args.features, args.run, show_progress=False)
    secs = epoch_seconds(run)
    summary = json.loads((run / "summary.json").read_text())
    print("RESULT " + json.dumps({
        "run": str(run), "params": summary["params"], "epochs": len(secs),
        "epoch_s": float(np.median(secs)) if secs else float("nan"), "train_samples": summary["train_samples"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def spawn(features: Path, run: Path, config: str, overrides: dict) -> dict:
    cmd = [sys.executable, __file__, "--_child", "--features", str(features), "--run", str(run),
           "--config", config, "--overrides", json.dumps(overrides)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    line = [l for l in res.stdout.splitlines() if l.startswith("RESULT ")]
    if res.returncode != 0 or not line:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"training {overrides} failed")
    return json.loads(line[-1][7:])


def score(run: Path, features: Path) -> tuple[float, float]:
    """Mean held-out corr2 and model inference seconds per second of video (lips -> spectrogram, 1 thread)."""
    import torch

    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run
    from lip2speech.evaluation.metrics import corr2

    torch.set_num_threads(1)
    rec = load_run(run)
    corrs, t, video_s = [], 0.0, 0.0
    for k in rec.test_keys:
        item = load_item(features, k)
        t0 = time.process_time()
        pred = rec.predict_spectrogram(item)
        t += time.process_time() - t0
        video_s += len(item["lips"]["valid"]) / item["lips"]["fps"]
        corrs.append(corr2(pred, item["aud"]))
    return float(np.nanmean(corrs)), t / max(video_s, 1e-9)


def mean_baseline(run: Path, features: Path) -> float:
    """corr2 of the time-aligned mean training spectrogram against every held-out utterance."""
    from lip2speech.evaluation.controls import MeanSpectrogram
    from lip2speech.data.store import load_item
    from lip2speech.evaluation.metrics import corr2

    split = read_split(run)
    control = MeanSpectrogram(features, split["train"])
    out = [corr2(control.predict_spectrogram(item), item["aud"]) for item in (load_item(features, k)
                                                                             for k in split["test"])]
    return float(np.nanmean(out))


def found_accelerators() -> list[str]:
    """The CPU, and a CUDA GPU when torch sees one."""
    import torch

    return ["cpu"] + (["gpu"] if torch.cuda.device_count() > 0 else [])


def speed_table(features: Path, args: argparse.Namespace, systems: list[str]) -> None:
    """Per system and accelerator: a short training (one device, its own run folder beside the others, sharing
    their autoencoder), printed as training samples per second of an epoch (median; validation included)."""
    accelerators = args.accelerators.split(",") if args.accelerators else found_accelerators()
    print(f"\ntraining speed ({args.speed_epochs} epochs each, one device):")
    print(f"{'system':12s} {'accelerator':>11s} {'samples':>8s} {'s/epoch':>8s} {'samples/s':>10s}")
    for system in systems:
        for acc in accelerators:
            over = {"system": system, "accelerator": acc, "devices": 1, "max_epochs": args.speed_epochs,
                    "early_stop_patience": args.speed_epochs}
            res = spawn(features, args.out / f"{system}-speed-{acc}", args.config, over)
            print(f"{system:12s} {acc:>11s} {res['train_samples']:8d} {res['epoch_s']:8.2f} "
                  f"{res['train_samples'] / res['epoch_s']:10.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=Path)
    ap.add_argument("--synthetic", action="store_true", help="generate array features (4 x 60, seed 0)")
    ap.add_argument("--out", type=Path, default=Path("bench-runs"))
    ap.add_argument("--config", default="train", help="packaged config name or YAML (default: published settings)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset (default: all three)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="trainings run side by side (the first one alone, so that it trains the shared autoencoder)")
    ap.add_argument("--video", type=Path, help="a ~3 s clip for timing `speak` on one core")
    ap.add_argument("--memory-check", action="store_true", help="peak RSS of gf2s training on 1/4 vs all utterances")
    ap.add_argument("--accelerators", help="comma list for the samples-per-second table (default: cpu, and gpu "
                                           "when CUDA is available)")
    ap.add_argument("--speed-epochs", type=int, default=3, help="epochs of every samples-per-second run (median)")
    ap.add_argument("--speed-only", action="store_true", help="only the samples-per-second table")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return train_one(args)

    features = args.features
    if args.synthetic:
        from lip2speech.data.features import synthetic_features

        features = args.out / "synthetic-features"
        if not (features / "features.json").is_file():
            synthetic_features(features, speakers=4, utterances=60, seed=0)
    if features is None:
        raise SystemExit("give --features FEATURES or --synthetic")

    systems = args.systems.split(",")
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown system(s): {', '.join(unknown)} (choose from {', '.join(SYSTEMS)})")
    if args.speed_only:
        return speed_table(features, args, systems)
    runs = [(s, shuffled) for s in systems for shuffled in (False, True)]

    def train(job: tuple[str, bool]) -> dict:
        system, shuffled = job
        name = f"{system}-shuffled" if shuffled else system
        over = {"system": system, **({"shuffle_lips": True} if shuffled else {})}
        return spawn(features, args.out / name, args.config, over)

    done = {runs[0]: train(runs[0])}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        done.update(zip(runs[1:], pool.map(train, runs[1:])))

    rows = []
    for system in systems:
        real, shuf = done[(system, False)], done[(system, True)]
        c_real, inf = score(Path(real["run"]), features)
        c_shuf, _ = score(Path(shuf["run"]), features)
        rows.append((system, real, c_real, c_shuf, inf))
        print(f"  {system}: corr2 {c_real:.3f} (shuffled lips {c_shuf:.3f})", flush=True)
    first_run = Path(rows[0][1]["run"])
    c_mean = mean_baseline(first_run, features)
    from lip2speech.data.store import load_item
    from lip2speech.inference import load_run

    ae_run = load_run(first_run).meta["autoencoder_run"]
    ae = load_run(ae_run)
    from lip2speech.evaluation.metrics import corr2

    items = (load_item(features, k) for k in ae.test_keys)
    c_ae = float(np.mean([corr2(ae.predict_spectrogram(it), it["aud"]) for it in items]))

    print(f"\nfeatures: {features}   config: {args.config}   jobs: {args.jobs}   "
          f"held-out utterances: {len(ae.test_keys)}")
    print(f"autoencoder held-out reconstruction corr2: {c_ae:.3f}   mean-spectrogram baseline corr2: {c_mean:.3f}")
    hdr = (f"{'system':12s} {'params':>11s} {'corr2':>6s} {'mean':>6s} {'shuffled':>8s} {'gain(min)':>9s} "
           f"{'epochs':>6s} {'s/epoch':>8s} {'infer s/s video':>15s} {'peak MB':>8s}")
    print(hdr)
    for system, real, c_real, c_shuf, inf in rows:
        gain = min(c_real - c_mean, c_real - c_shuf)
        print(f"{system:12s} {real['params']:11,d} {c_real:6.3f} {c_mean:6.3f} {c_shuf:8.3f} {gain:9.3f} "
              f"{real['epochs']:6d} {real['epoch_s']:8.2f} {inf:15.4f} {real['peak_rss_mb']:8.0f}")

    speed_table(features, args, systems)

    if args.memory_check:
        from lip2speech.data.store import load_manifest

        keys = list(load_manifest(features))
        spk = sorted({k.split("/")[0] for k in keys})
        small = spawn(features, args.out / "mem-small", args.config,
                      {"system": "gf2s", "speakers": spk[:1], "max_epochs": 1, "autoencoder": {"max_epochs": 1}})
        large = spawn(features, args.out / "mem-large", args.config,
                      {"system": "gf2s", "speakers": spk, "max_epochs": 1, "autoencoder": {"max_epochs": 1}})
        n_small = sum(k.startswith(spk[0] + "/") for k in keys)
        print(f"\npeak RSS training gf2s: {n_small} utterances {small['peak_rss_mb']:.0f} MB, "
              f"{len(keys)} utterances {large['peak_rss_mb']:.0f} MB "
              f"(ratio {large['peak_rss_mb'] / small['peak_rss_mb']:.2f} for {len(keys) / n_small:.1f}x the data)")

    if args.video:
        import torch

        from lip2speech.inference.speak import speak
        from lip2speech.video.io import video_info

        torch.set_num_threads(1)
        for system, real, *_ in rows:
            t0, w0 = time.process_time(), time.perf_counter()
            speak(real["run"], args.video, args.out / f"speak-{system}.wav")
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
            dur = video_info(args.video).duration
            print(f"speak {system}: {dur:.2f} s clip, CPU {cpu:.2f} s (x{dur / cpu:.2f} real time), wall {wall:.2f} s")


if __name__ == "__main__":
    main()
