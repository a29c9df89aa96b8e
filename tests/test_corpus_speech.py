"""eSpeak NG speech with timings, and the articulation derived from its phones."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lip2speech.corpus.articulation import PARAMS, articulate
from lip2speech.corpus.speech import Voice, synthesise

SENTENCE = ["bin", "blue", "at", "a", "two", "soon"]


@pytest.fixture(scope="module")
def speech():
    return synthesise(SENTENCE, Voice(variant="m1", rate=150))


def test_words_and_phones_are_timed(speech):
    assert speech.fs >= 16000
    duration = len(speech.samples) / speech.fs
    assert 1.0 < duration < 3.0
    assert [w for w, _, _ in speech.words] == SENTENCE
    starts = [a for _, a, _ in speech.words]
    assert starts == sorted(starts)
    for (_, a, b), (_, c, _) in zip(speech.words, speech.words[1:]):
        assert a < b <= c + 1e-9
    assert speech.words[-1][2] <= duration + 1e-6
    # The letter "a" is the letter name, not the article merged into "at".
    a_phones = [p.symbol for p in speech.phones if p.word == 3]
    assert a_phones == ["eI"]
    # The words carry speech energy.
    rms = np.sqrt(np.mean(speech.samples[int(speech.words[0][1] * speech.fs):] ** 2))
    assert rms > 0.01


def test_rate_and_voice_change_the_speech(speech):
    slow = synthesise(SENTENCE, Voice(variant="m1", rate=120))
    assert len(slow.samples) > 1.15 * len(speech.samples)
    other = synthesise(SENTENCE, Voice(variant="f1", rate=150, pitch=60))
    n = min(len(other.samples), len(speech.samples))
    assert not np.allclose(other.samples[:n], speech.samples[:n])


def test_articulation_follows_the_phones(speech):
    fps = 25.0
    n = int(np.ceil(len(speech.samples) / speech.fs * fps)) + 10
    art = articulate(speech.phones, n, fps)
    assert art.shape == (n, len(PARAMS)) and art.dtype == np.float32
    assert art.min() >= 0 and art.max() <= 1
    opening, rounding = art[:, PARAMS.index("open")], art[:, PARAMS.index("round")]

    def at(t: float) -> int:
        return min(n - 1, int(t * fps))

    def phone(symbol: str, word: int):
        return next(p for p in speech.phones if p.symbol == symbol and p.word == word)

    # Lips close for the /b/ of "blue" and are open for the vowel of "bin"; rounded for the /u:/ of "two".
    b = phone("b", 1)
    vowel = phone("I", 0)
    u = phone("u:", 4)
    assert opening[at((b.start + b.end) / 2)] < 0.5 * opening[at((vowel.start + vowel.end) / 2)]
    assert rounding[at((u.start + u.end) / 2)] > 0.6
    assert rounding[at((vowel.start + vowel.end) / 2)] < 0.3
    # Rest (closed, not rounded) well after the speech.
    assert opening[-1] < 0.05
    # Lead shifts the trajectory earlier in time.
    early = articulate(speech.phones, n, fps, lead=0.08)
    assert np.argmax(early[:, PARAMS.index("round")]) <= np.argmax(rounding)


def test_synthesis_is_reproducible_across_processes():
    from lip2speech.corpus.synth import _MORE_VARIANTS, _VARIANTS

    code = (
        "import hashlib, sys\n"
        "from lip2speech.corpus.speech import Voice, synthesise\n"
        "w = 'place white with f eight soon'.split()\n"
        "print(' '.join(hashlib.md5(synthesise(w, Voice(variant=v, pitch=45)).samples.tobytes()).hexdigest()"
        " for v in sys.argv[1:]))\n"
    )
    variants = list(_VARIANTS + _MORE_VARIANTS)
    runs = [subprocess.run([sys.executable, "-c", code, *variants], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(set(runs[0].split())) == len(variants)
