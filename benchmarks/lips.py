"""Lip front-end speed: a seed-style pipeline vs lip2speech's extract_lips, side by side on one core.

Seed style (as the original study): decode colour frames, dlib detection with one upsampling on every
frame, landmarks, Gabor picture of the mouth crop, JPEG file round trip, scikit-image Yen threshold,
label and regionprops. lip2speech: `extract_lips(path)` end to end (decode, tracking, GP, GF, face crops).

    python benchmarks/lips.py [--clips ../shared/data/grid] [--repeat 3] [--cpu 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from lip2speech.lips.gabor import GP_SIZE, gabor_picture, jpeg_round_trip, mouth_box, mouth_centre, _legacy_pick
from lip2speech.lips.track import extract_lips
from lip2speech.video import read_video
from lip2speech.video.landmarks import face_detector, shape_predictor

DEFAULT_CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "grid"


def seed_style(path: Path, tmp: Path) -> tuple[int, int]:
    """The original per-frame pipeline; returns (frames, frames with a face)."""
    from skimage.filters import threshold_yen
    from skimage.measure import label, regionprops

    video = read_video(path)
    detector, predictor = face_detector(), shape_predictor()
    jpg = str(tmp / "gp.jpg")
    found = 0
    for frame in video.frames:
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        rects = detector(grey, 1)
        if not rects:
            continue  # the seed left these frames as zeros
        found += 1
        shape = predictor(grey, rects[0])
        lm = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
        box = mouth_box(lm, grey.shape)
        x0, y0, x1, y1 = box
        gp = gabor_picture(grey[y0:y1, x0:x1])
        # cv2.imwrite of the float GP converts it to uint8 first (with a warning): do that explicitly.
        cv2.imwrite(jpg, np.clip(np.rint(gp), 0, 255).astype(np.uint8))
        img = cv2.imread(jpg, cv2.IMREAD_GRAYSCALE)
        cv2.resize(img, GP_SIZE)
        labels = label(img > threshold_yen(img))
        props = regionprops(labels, intensity_image=img)
        if props:
            c = mouth_centre(lm, box)
            k = _legacy_pick(np.array([[p.centroid[1], p.centroid[0]] for p in props]), c[0], c[1])
            p = props[k]
            _ = [p.bbox[3] - p.bbox[1], p.bbox[2] - p.bbox[0], p.area, p.centroid[1], p.centroid[0],
                 p.intensity_mean, p.orientation]
    return len(video.frames), found


def lip2speech_style(path: Path) -> tuple[int, int]:
    """extract_lips end to end; returns (frames, frames with a face)."""
    track = extract_lips(path)
    return len(track), int(track.valid.sum())


def timed(fn, clips) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    frames = found = 0
    for clip in clips:
        n, f = fn(clip)
        frames += n
        found += f
    return time.perf_counter() - t0, frames, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder of videos (default: the six GRID clips)")
    ap.add_argument("--repeat", type=int, default=3, help="passes per pipeline; the median is reported")
    ap.add_argument("--cpu", type=int, default=None, help="core to pin to (default: the first allowed)")
    args = ap.parse_args()
    clips = sorted(p for p in args.clips.iterdir() if p.suffix.lower() in (".mpg", ".mp4", ".avi", ".mov"))
    if not clips:
        raise SystemExit(f"no videos in {args.clips}")
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    cv2.setNumThreads(1)
    shape_predictor(), face_detector()  # model loading (~0.7 s) is excluded from both timings
    lip2speech_style(clips[0])  # warm-up
    seed_t, ours_t = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            dt, n_seed, f_seed = timed(lambda c: seed_style(c, Path(tmp)), clips)
            seed_t.append(dt)
            dt, n_ours, f_ours = timed(lip2speech_style, clips)
            ours_t.append(dt)
    seed_fps = n_seed / statistics.median(seed_t)
    ours_fps = n_ours / statistics.median(ours_t)
    print(f"{len(clips)} clips, {n_seed} frames, one core (cpu {cpu}), median of {args.repeat} passes")
    print(f"seed-style pipeline : {seed_fps:8.1f} frames/s  (face on {f_seed}/{n_seed} frames)")
    print(f"lip2speech          : {ours_fps:8.1f} frames/s  (face on {f_ours}/{n_ours} frames)")
    print(f"speed-up            : {ours_fps / seed_fps:8.1f}x")


if __name__ == "__main__":
    main()
