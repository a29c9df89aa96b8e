"""`speak` speed on one core: start-up (imports, model loading, the face models) apart from the per-clip path (decode, lips,
model, inversion, write), its real-time factor in wall and in CPU time (the process's own CPU seconds: the fairer
figure on a busy machine), and what fewer inversion iterations cost in STOI.

    python benchmarks/speak.py --model grid-s1 --videos ../shared/data/grid-s1/s1/bbaf5a.mpg ... \
        [--iterations cg:1:harmonic,cg:2:sine] [--long 20]

Runs in a fresh process pinned to one thread (OMP/MKL/torch), so the start-up is what a user pays.
`--long S` also speaks an S-second video made by concatenating the given clips.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
torch.set_num_threads(1)
from lip2speech.inference.speak import speak_many
t1 = time.perf_counter()
method, iters, *start = sys.argv[3].split(":")
res = speak_many(sys.argv[1], sys.argv[4:], sys.argv[2], n_iter=int(iters), method=method, log=lambda line: None,
                 start=start[0] if start else None)
if res["failures"]:
    raise SystemExit("\n".join(res["failures"]))
out = {"imports_s": t1 - t0, "model_s": res["model_s"], "face_models_s": res["face_models_s"],
       "warm_up_s": res["warm_up_s"],
       "clips": [{"video": c["source"], "seconds": c["seconds"], "times": c["times"], "cpu_s": c["cpu_s"],
                  "words": c["words"], "wav": c["wav"]} for c in res["clips"]]}
print("RESULT " + json.dumps(out))
"""


def run_child(model: str, out: Path, iters: str, videos: list[str]) -> dict:
    """Speak `videos` in a fresh one-thread process; its timings as a dict."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD, model, str(out), iters, *videos], capture_output=True,
                         text=True, env=env)
    wall = time.perf_counter() - t0
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not line:
        raise SystemExit(res.stdout[-2000:] + res.stderr[-2000:])
    return {**json.loads(line[-1][7:]), "process_wall_s": wall}


def long_video(videos: list[str], seconds: float, path: Path) -> Path:
    """An about `seconds`-long video of the clips one after another (repeated as needed)."""
    import numpy as np

    from lip2speech.video.io import read_video, write_video

    frames, fps = [], 25.0
    while sum(len(f) for f in frames) < seconds * fps:
        for v in videos:
            clip = read_video(v)
            frames.append(clip.frames)
            fps = clip.fps
    write_video(path, np.concatenate(frames)[: int(seconds * fps)], fps)
    return path


def stoi_of(wav: str, video: str) -> float:
    """STOI of a reconstruction against the clip's own audio track."""
    import soundfile as sf

    from lip2speech.audio import load_audio
    from lip2speech.evaluation.metrics import stoi

    x, fs = sf.read(wav)
    return stoi(load_audio(video, fs=fs), x, fs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="grid-s1")
    ap.add_argument("--videos", nargs="+", required=True)
    ap.add_argument("--iterations", default="cg:1:harmonic,cg:2:sine",
                    help="inversions to time, METHOD:N[:START] or N (speak's method and start), comma-separated")
    ap.add_argument("--long", type=float, default=0.0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/lip2speech-speak-bench"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| inversion | start-up s (imports + model + face models + warm-up) | clip s of speech | decode | lips | model | inversion | write "
          "| total s | x real time | CPU s | x real time (CPU) | STOI |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    from lip2speech.inference.speak_inversion import SPEAK_METHOD

    inversions = [i if ":" in i else f"{SPEAK_METHOD}:{i}" for i in args.iterations.split(",")]
    for iters in inversions:
        res = run_child(args.model, args.out, iters, args.videos)
        for c in res["clips"]:
            t = c["times"]
            total = sum(t.values())
            start = res['imports_s'] + res['model_s'] + res['face_models_s'] + res['warm_up_s']
            print(f"| {iters} | {start:.2f} ({res['imports_s']:.2f} + {res['model_s']:.2f} + {res['face_models_s']:.2f}"
                  f" + {res['warm_up_s']:.2f})"
                  f" | {c['seconds']:.2f} | " + " | ".join(f"{t[k]:.2f}" for k in ("decode", "lips", "model",
                                                                                     "inversion", "write"))
                  + f" | {total:.2f} | {c['seconds'] / total:.2f} | {c['cpu_s']:.2f} | {c['seconds'] / c['cpu_s']:.2f}"
                  f" | {stoi_of(c['wav'], c['video']):.3f} |")
    if args.long:
        video = long_video(args.videos, args.long, args.out / "long.mp4")
        res = run_child(args.model, args.out, inversions[0], [str(video)])
        c = res["clips"][0]
        print(f"long video: {c['seconds']:.1f} s of speech in {sum(c['times'].values()):.1f} s "
              f"({json.dumps({k: round(v, 2) for k, v in c['times'].items()})}); words: {' '.join(c['words'])}")


if __name__ == "__main__":
    main()
