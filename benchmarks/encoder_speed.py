"""Training-step time of gu2s with the picture and mouth convolutions in channels-last against the default layout,
side by side in one process (interleaved repeats, medians), on one CPU thread.

    python benchmarks/encoder_speed.py [--repeats 5] [--face-size 128]

A step is the forward and backward pass of a batch of 8 utterances of 75 frames (3 s), with the grey mouth region
of face crops of --face-size px (grid-s1's recipe: GRU 256, conv 320). Prints each layout's median step and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--face-size", type=int, default=128, help="face crop side (px); the mouth region is half as high")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    import numpy as np

    from lip2speech.data.lip_inputs import mouth_region
    from lip2speech.models.gu2s import GU2S, PictureEncoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    mh, mw = mouth_region(np.zeros((1, args.face_size, args.face_size), np.uint8)).shape[1:]
    model = GU2S(use_mouth=True, mouth_height=mh, mouth_width=mw, gru=256, conv=320, dropout=0.3).train()
    b, t = 8, 75
    batch = (torch.randn(b, t, 40, 80), torch.randn(b, t, 7), torch.full((b,), t), torch.randn(b, t, mh, mw))
    layouts = {"default (NCHW)": torch.contiguous_format, "channels-last": torch.channels_last}

    def step() -> float:
        start = time.perf_counter()
        model.zero_grad()
        model(*batch)["spec"].sum().backward()
        return time.perf_counter() - start

    times: dict[str, list[float]] = {name: [] for name in layouts}
    for name, fmt in layouts.items():  # warm-up: kernel choice and allocations
        PictureEncoder.memory_format = fmt
        step()
    for _ in range(args.repeats):
        for name, fmt in layouts.items():
            PictureEncoder.memory_format = fmt
            times[name].append(step())
    PictureEncoder.memory_format = torch.channels_last
    base = statistics.median(times["default (NCHW)"])
    print(f"gu2s training step, batch {b} x {t} frames, mouth region {mh}x{mw} px, {args.threads} thread(s), "
          f"median of {args.repeats}:")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  {name:15s} {m:.3f} s  (min {min(ts):.3f}, max {max(ts):.3f})  {base / m:.2f}x")


if __name__ == "__main__":
    main()
