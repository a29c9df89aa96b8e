"""The time grid every stage shares: auditory-spectrogram frames of 8 ms and 128 channels, the audio rates the
auditory model runs at, and which frames a time span (a word, a slice) covers."""

from __future__ import annotations

import numpy as np

SPEC_FRAME_S = 0.008  # auditory spectrogram frame step (s): 125 frames per second
BINS = 128  # auditory spectrogram channels
DEFAULT_FS = 8000  # Hz: the published audio rate (the octave-shifted NSL model)
SAMPLE_RATES = (8000, 16000)  # Hz: audio rates of the auditory model (16 kHz: channels up to ~7 kHz)
MIN_VIDEO_S = 1.0  # s: shorter videos are refused (truncated files; too little context for a sentence)


def frame_times(n: int) -> np.ndarray:
    """Centre times (s) of spectrogram frames 0 .. n-1."""
    return (np.arange(n) + 0.5) * SPEC_FRAME_S


def span_frames(start_s: float, end_s: float, n: int) -> np.ndarray:
    """Indices of the spectrogram frames (of n) whose centre lies in [start_s, end_s): the frames of a word.

    Training (word segments) and scoring (corr2 per word) both take a span's frames from here."""
    t = frame_times(n)
    return np.flatnonzero((t >= start_s) & (t < end_s))
