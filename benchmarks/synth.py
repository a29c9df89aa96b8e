"""Synthetic corpus: generation time, and how real it looks and sounds to dlib and pocketsphinx.

Generates a corpus (or measures an existing one with --corpus), then reports:
- generation wall and CPU time (this process and its workers and ffmpeg children);
- dlib HOG face detection rate and the correlation of the landmark lip opening (62-66) with the true opening,
  on every k-th clip;
- pocketsphinx (GRID grammar) word accuracy per speaker, on every utterance;
- how many of the 51 GRID words occur.

    python benchmarks/synth.py [--out /tmp/c4] [--speakers 4] [--utterances 50] [--seed 0] [--jobs 2] [--every 4]
    python benchmarks/synth.py --corpus /tmp/c4
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from lip2speech.evaluation.asr import recognise_grid, word_accuracy
from lip2speech.corpus.grammar import WORDS, sentence_from_name
from lip2speech.corpus.synth import synth_corpus
from lip2speech.video.io import read_video
from lip2speech.video.landmarks import detect_faces, fit_landmarks, to_grey


def cpu_seconds() -> float:
    """CPU time (user + system, s) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="measure this existing corpus instead of generating one")
    ap.add_argument("--out", type=Path, default=Path("/tmp/lip2speech-synth-bench"))
    ap.add_argument("--speakers", type=int, default=4)
    ap.add_argument("--utterances", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--every", type=int, default=4, help="run dlib on every k-th clip")
    args = ap.parse_args()

    root = args.corpus
    if root is None:
        root = args.out
        if root.exists():
            shutil.rmtree(root)
        wall, cpu = time.perf_counter(), cpu_seconds()
        report = synth_corpus(root, args.speakers, args.utterances, args.seed, jobs=args.jobs)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        print(f"generation: {len(report.results)} clips, {len(report.failures)} failed, "
              f"{wall:.0f} s wall, {cpu:.0f} s CPU with --jobs {args.jobs}")

    clips = sorted((p.parts[-3], p.stem) for p in root.glob("s*/video/*.mp4"))
    words = {w for _, uid in clips for w in sentence_from_name(uid)}
    print(f"words used: {len(words)} of {len(WORDS)}")

    seen = found = 0
    measured, truth = [], []
    for spk, uid in clips[:: args.every]:
        frames = read_video(root / spk / "video" / f"{uid}.mp4").frames
        opening = np.load(root / "truth" / spk / f"{uid}.npz")["opening"]
        for frame, gt in zip(frames, opening):
            seen += 1
            grey = to_grey(frame)
            faces = detect_faces(grey, upsample=0)
            if len(faces):
                found += 1
                pts = fit_landmarks(grey, faces[0])
                measured.append(float(np.linalg.norm(pts[66] - pts[62])))
                truth.append(float(gt))
    r = np.corrcoef(measured, truth)[0, 1] if len(measured) > 2 else float("nan")
    print(f"dlib: face found in {found}/{seen} frames ({100 * found / max(seen, 1):.1f}%), "
          f"lip opening 62-66 vs truth r = {r:.3f}")

    per_speaker: dict[str, list[float]] = {}
    for spk, uid in clips:
        wav, fs = sf.read(root / "audio" / spk / f"{uid}.wav")
        per_speaker.setdefault(spk, []).append(word_accuracy(list(sentence_from_name(uid)), recognise_grid(wav, fs)))
    every = [a for v in per_speaker.values() for a in v]
    detail = ", ".join(f"{s} {100 * np.mean(v):.1f}%" for s, v in sorted(per_speaker.items()))
    print(f"pocketsphinx word accuracy: {100 * np.mean(every):.1f}% over {len(every)} utterances ({detail})")


if __name__ == "__main__":
    main()
