"""Automatic word recognition of GRID sentences (pocketsphinx with a JSGF grammar) and word accuracy."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..audio.io import resample_exact
from ..corpus.grammar import SLOTS
from ..errors import Lip2SpeechError

#: Sampling rate of pocketsphinx's bundled US English acoustic model (Hz).
ASR_FS = 16000


def grid_jsgf() -> str:
    """JSGF grammar of the GRID sentence: one word from each of the six slots, in order.

    Letter words are the letters themselves ("a", "b", ...), which are also the CMU dictionary's
    spellings of the spoken letter names; silence before, between and after words is added by the
    decoder's filler model, so it is not written in the grammar.
    """
    rules = [f"<{slot}> = {' | '.join(word for _, word in pairs)};" for slot, pairs in SLOTS.items()]
    sentence = " ".join(f"<{slot}>" for slot in SLOTS)
    return "#JSGF V1.0;\ngrammar grid;\n" + "\n".join(rules) + f"\npublic <sentence> = {sentence};\n"


def _decoder():  # type: ignore[no-untyped-def]
    """A fresh pocketsphinx decoder searching the GRID grammar (~0.1 s to build). Fresh for every utterance:
    a decoder carries its cepstral mean and noise estimate from one utterance to the next, so a reused one
    made a clip's words depend on what it had heard before (the original's score on the system evaluated)."""
    from pocketsphinx import Decoder

    decoder = Decoder(lm=None, samprate=ASR_FS, loglevel="FATAL")
    decoder.add_jsgf_string("grid", _GRAMMAR)
    decoder.activate_search("grid")
    return decoder


_GRAMMAR = grid_jsgf()


def _to_int16(audio: np.ndarray, fs: int) -> np.ndarray:
    """Mono float/int audio at `fs` Hz -> int16 at 16 kHz, peak-normalised to 0.9 of full scale."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:  # (samples, channels) or (channels, samples): average the shorter axis
        x = x.mean(axis=int(np.argmin(x.shape)))
    if x.ndim != 1:
        raise Lip2SpeechError(f"audio must be 1-D (or 2-D multi-channel), got shape {x.shape}")
    if fs <= 0:
        raise Lip2SpeechError(f"sampling rate must be positive, got {fs}")
    x = resample_exact(x, fs, ASR_FS)
    x = np.nan_to_num(x - x.mean()) if x.size else x
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0:
        x = x * (0.9 * 32767 / peak)
    return x.astype(np.int16)


def recognise_grid(audio: np.ndarray, fs: int) -> list[str]:
    """The six GRID words recognised in `audio` (mono, `fs` Hz); [] when nothing matches the grammar."""
    pcm = _to_int16(audio, fs)
    if pcm.size < ASR_FS // 10 or not np.any(pcm):  # under 0.1 s or silent: nothing to recognise
        return []
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    if hyp is None or not hyp.hypstr:
        return []
    return hyp.hypstr.split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance in words (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_accuracy(ref_words: Sequence[str], hyp_words: Sequence[str]) -> float:
    """Word accuracy 1 - WER = 1 - edit_distance / len(ref), floored at 0.

    With the GRID grammar the recogniser returns six words, one per slot, and the slots share no
    words, so this equals the fraction of slots recognised correctly; an empty hypothesis scores 0.
    """
    if len(ref_words) == 0:
        raise Lip2SpeechError("word accuracy needs a non-empty reference")
    return max(0.0, 1.0 - edit_distance(list(ref_words), list(hyp_words)) / len(ref_words))
