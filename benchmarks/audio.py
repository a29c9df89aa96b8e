"""Benchmark the auditory spectrogram and its inversion on one core, side by side in one run.

Prints analysis speed (multiple of real time) and, for each inversion variant, time per clip and quality:
corr2 of the re-analysed spectrogram with the target and STOI against the original waveform, next to the
faithful 30-iteration NSL projection. Uses the NSL reference clips in ../shared/data/nsl.

    python benchmarks/audio.py [--data ../shared/data/nsl] [--clips 6]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lip2speech.audio import auditory_spectrogram, invert_auditory_spectrogram, load_nsl_filters  # noqa: E402
from lip2speech.audio.model import AuditoryModel  # noqa: E402
from lip2speech.evaluation.metrics import corr2  # noqa: E402


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) time of `repeats` calls, in seconds."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "nsl")
    parser.add_argument("--clips", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from pystoi import stoi

    clips = sorted(args.data.glob("*.npz"))[: args.clips]
    if not clips:
        raise SystemExit(f"no NSL reference clips (*.npz) in {args.data}")
    nsl = load_nsl_filters(args.data / "aud24.mat")
    data = [np.load(p) for p in clips]
    seconds = sum(len(d["x"]) for d in data) / 8000

    print(f"{len(clips)} clips, {seconds:.1f} s of audio at 8 kHz, one thread\n")
    print("times: wall clock / CPU time of this process (the CPU time is what a busy shared machine can't inflate)")
    print("analysis (best of 5)            time/clip (wall/CPU)   x real time (wall/CPU)   corr2 vs NSL")
    for name, bank in (("own filterbank (default)", None), ("NSL table aud24.mat", nsl)):
        t = np.sum([best_time(lambda d=d: auditory_spectrogram(d["x"], filters=bank), 5) for d in data], axis=0)
        c = np.mean([corr2(auditory_spectrogram(d["x"], filters=bank), d["aud"]) for d in data])
        print(f"  {name:<29} {t[0] / len(data) * 1000:6.1f} / {t[1] / len(data) * 1000:5.1f} ms      "
              f"{seconds / t[0]:5.0f}x / {seconds / t[1]:4.0f}x          {c:.4f}")

    variants = [
        ("NSL projection, 30 it, noise", dict(method="nsl", n_iter=30, init="noise", filters=nsl)),
        ("L-BFGS 8 it, sine start", dict(method="lbfgs", n_iter=8, filters=nsl)),
        ("L-BFGS 20 it, sine start", dict(method="lbfgs", n_iter=20, filters=nsl)),
        ("L-BFGS 30 it, sine start", dict(method="lbfgs", n_iter=30, filters=nsl)),
        ("L-BFGS 2 it, sine start", dict(method="lbfgs", n_iter=2, filters=nsl)),
        ("CG 2 it, sine start", dict(method="cg", n_iter=2, filters=nsl)),
        ("CG 1 it (speak), harmonic 90 Hz", dict(method="cg", n_iter=1, init="harmonic", filters=nsl)),
        ("CG 8 it, sine start", dict(method="cg", n_iter=8, filters=nsl)),
        ("CG 20 it, sine start", dict(method="cg", n_iter=20, filters=nsl)),
        ("default call (own bank, 20 it)", dict()),
    ]
    print("\ninversion of the NSL spectrograms   time/clip (wall/CPU)   CPU speed-up   filterbank passes"
          "   corr2 (re-analysed)   STOI")
    base = None
    for name, kw in variants:
        times, cpus, corrs, stois = [], [], [], []
        AuditoryModel.passes = 0
        for d in data:
            t, c = time.perf_counter(), time.process_time()
            y = invert_auditory_spectrogram(d["aud"], seed=0, **kw)
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            n = min(len(y), len(d["x"]))
            corrs.append(corr2(auditory_spectrogram(y, filters=nsl), d["aud"]))
            stois.append(stoi(d["x"][:n], y[:n], 8000))
        tm, cm = float(np.mean(times)), float(np.mean(cpus))
        base = base or cm
        passes = AuditoryModel.passes
        print(f"  {name:<33} {tm:6.2f} / {cm:5.2f} s       {base / cm:5.1f}x      {passes / len(data):9.1f}          "
              f"{np.mean(corrs):.4f}            {np.mean(stois):.4f}")
    ref = args.data / "reference_metrics.json"
    if ref.exists():
        import json

        m = json.loads(ref.read_text())
        print(f"\nNSL toolbox aud2wav (Octave, 30 it): mean STOI {np.mean([v['stoi_aud2wav30'] for v in m.values()]):.4f}")


if __name__ == "__main__":
    main()
