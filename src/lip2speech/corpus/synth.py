"""The built-in synthetic GRID-like corpus: eSpeak NG speech and a talking astronaut face, in GRID's layout.

Layout written under OUT (what the GRID reader understands):
  <spk>/video/<uid>.mp4          25 fps 360x288 H.264 video with the speech muxed as AAC
  audio/<spk>/<uid>.wav          16 kHz mono speech
  alignments/<spk>/<uid>.align   GRID word alignment (`start end word`, 1/25000 s, `sil` at both ends)
  truth/<spk>/<uid>.npz          per-frame ground truth (lip opening, width, rounding, ..., landmarks)
  synth.json                     generation parameters (seed, speakers, voices, looks)
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio.io import resample_exact
from ..errors import Lip2SpeechError
from ..fileio import save_npz, write_json, write_text
from ..parallel import JobReport, run_jobs
from .articulation import PARAMS, articulate
from .face import Appearance, Motion, make_portrait, render
from .grammar import SLOTS, name_from_sentence
from .records import ALIGN_UNITS_PER_S
from .speech import Voice, synthesise

FPS = 25.0
AUDIO_FS = 16000  # Hz, audio written to disk and muxed into the video (the corpus's rate, not the model's)
DURATION = 3.0  # s per utterance, as GRID
ALIGN_UNITS = int(ALIGN_UNITS_PER_S)  # GRID alignment time units per second
# eSpeak NG voice variants: the six that pocketsphinx understands best come first, then two weaker ones.
# f2, f3 and f5 are left out: their breathy noise differs from process to process (not reproducible).
_VARIANTS = ("m1", "m2", "m5", "m6", "f1", "f4")
_MORE_VARIANTS = ("m3", "m4")
_BACKGROUNDS = ((40, 150, 200), (60, 80, 140), (40, 110, 90), (120, 120, 125), (150, 110, 70), (90, 60, 110), (30, 60, 90),
                (170, 170, 160), (110, 40, 40))


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: name (s1..), eSpeak voice, face appearance, lip lead over the sound (s)."""

    name: str
    voice: Voice
    appearance: Appearance
    lead: float


@dataclass(frozen=True)
class ClipPlan:
    """One clip to generate: output root, speaker, the six words and its own random seed."""

    out: str
    speaker: Speaker
    words: tuple[str, ...]
    seed: int

    @property
    def uid(self) -> str:
        """GRID file stem of the sentence (e.g. `bbaf2n`)."""
        return name_from_sentence(self.words)


def make_speakers(n: int, seed: int) -> list[Speaker]:
    """`n` speakers with distinct voices (variant, pitch, rate) and looks, drawn from `seed`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    variants = list(rng.permutation(_VARIANTS)) + list(_MORE_VARIANTS)
    backgrounds = list(rng.permutation(len(_BACKGROUNDS)))
    speakers = []
    for i in range(n):
        voice = Voice(
            language="en-us",
            variant=str(variants[i % len(variants)]),
            pitch=int(rng.integers(35, 61)),
            pitch_range=int(rng.integers(40, 71)),
            rate=int(rng.integers(135, 166)),
        )
        bg = np.asarray(_BACKGROUNDS[backgrounds[i % len(backgrounds)]], float)
        bg = np.clip(bg + rng.uniform(-20, 20, 3), 0, 255)
        look = Appearance(
            scale=float(rng.uniform(1.05, 1.35)),
            dx=float(rng.uniform(-25, 25)),
            dy=float(rng.uniform(-12, 12)),
            mirror=bool(i % 2 == 1),
            gain=tuple(float(g) for g in rng.uniform(0.85, 1.12, 3)),
            background=tuple(int(c) for c in bg),
            lip_tint=float(rng.uniform(-0.6, 0.6)),
        )
        speakers.append(Speaker(f"s{i + 1}", voice, look, float(rng.uniform(-0.03, 0.05))))
    return speakers


def utterance_counts(n_speakers: int, n_utterances: int | Sequence[int]) -> list[int]:
    """Utterances of each speaker: one count for all, or one per speaker."""
    if isinstance(n_utterances, int):
        return [n_utterances] * n_speakers
    counts = [int(n) for n in n_utterances]
    if len(counts) != n_speakers:
        raise ValueError(f"{len(counts)} utterance counts for {n_speakers} speakers")
    return counts


def draw_sentences(n_speakers: int, n_utterances: int | Sequence[int], seed: int) -> list[list[tuple[str, ...]]]:
    """Sentences per speaker (`n_utterances`: one count for all, or one per speaker), distinct within a speaker;
    every slot cycles through shuffled rounds of its words, so every one of the 51 words occurs once the corpus
    has at least 25 utterances."""
    counts = utterance_counts(n_speakers, n_utterances)
    total = sum(counts)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    columns = []
    for pairs in SLOTS.values():
        words = [w for _, w in pairs]
        rounds = -(-total // len(words))
        columns.append([words[k] for _ in range(rounds) for k in rng.permutation(len(words))][:total])
    sentences: list[list[tuple[str, ...]]] = []
    for s in range(n_speakers):
        seen: set[tuple[str, ...]] = set()
        own = []
        first = sum(counts[:s])  # this speaker's first sentence in the slot columns
        for u in range(counts[s]):
            k = first + u
            words = [col[k] for col in columns]
            tries = 0
            while tuple(words) in seen:  # rare: re-draw the letter and digit (then any slot)
                tries += 1
                for slot in (3, 4) if tries < 50 else range(len(columns)):
                    pairs = list(SLOTS.values())[slot]
                    words[slot] = pairs[int(rng.integers(len(pairs)))][1]
            seen.add(tuple(words))
            own.append(tuple(words))
        sentences.append(own)
    return sentences


def format_align(words: list[tuple[str, float, float]], duration: float) -> str:
    """GRID alignment text: `start end word` lines in 1/25000 s, `sil` before the first and after the last word."""
    def units(t: float) -> int:
        return int(round(t * ALIGN_UNITS))

    end = units(duration)
    lines = []
    t = 0
    for word, start, stop in words:
        s, e = units(start), units(stop)
        if s > t:
            lines.append((t, s, "sil" if not lines else "sp"))
        s = max(s, t)
        lines.append((s, max(e, s + 1), word))
        t = max(e, s + 1)
    if t < end:
        lines.append((t, end, "sil"))
    return "".join(f"{a} {b} {w}\n" for a, b, w in lines)


@functools.lru_cache(maxsize=8)
def _portrait(look: Appearance):
    return make_portrait(look)


def generate_utterance(utt: ClipPlan) -> str:
    """Synthesise one utterance and write its video, WAV, alignment and ground truth; return `spk/uid`."""
    from ..video.io import write_video

    rng = np.random.default_rng(utt.seed)
    spk = utt.speaker
    speech = synthesise(list(utt.words), spk.voice)
    audio = resample_exact(speech.samples, speech.fs, AUDIO_FS).astype(np.float32)
    talk = len(audio) / AUDIO_FS
    lead_in = float(rng.uniform(0.35, 0.8))
    duration = DURATION
    lead_in = min(lead_in, max(0.15, duration - talk - 0.2))
    if lead_in + talk + 0.1 > duration:  # very slow voice: lengthen the clip by whole frames
        duration = float(np.ceil((lead_in + talk + 0.2) * FPS) / FPS)
    n_samples = int(round(duration * AUDIO_FS))
    n_frames = int(round(duration * FPS))
    wave = np.zeros(n_samples, np.float32)
    start = int(round(lead_in * AUDIO_FS))
    wave[start:start + len(audio)] = audio[: n_samples - start]
    peak = float(np.max(np.abs(wave))) or 1.0
    wave *= 0.7 / peak
    wave += rng.normal(0.0, 3e-4, n_samples).astype(np.float32)  # faint room noise: no digital silence
    for p in speech.phones:
        p.start += lead_in
        p.end += lead_in
    words = [(w, a + lead_in, b + lead_in) for w, a, b in speech.words]
    params = articulate(speech.phones, n_frames, FPS, lead=spk.lead + float(rng.normal(0, 0.01)))
    frames, landmarks = render(_portrait(spk.appearance), params, seed=int(rng.integers(2**31)), motion=Motion())
    out = Path(utt.out)
    uid = utt.uid
    import soundfile as sf

    from ..fileio import atomic_path

    with atomic_path(out / "audio" / spk.name / f"{uid}.wav") as tmp:
        sf.write(str(tmp), wave, AUDIO_FS, subtype="PCM_16", format="WAV")
    write_text(out / "alignments" / spk.name / f"{uid}.align", format_align(words, duration))
    opening = np.linalg.norm(landmarks[:, 66] - landmarks[:, 62], axis=1)
    width = np.linalg.norm(landmarks[:, 54] - landmarks[:, 48], axis=1)
    save_npz(out / "truth" / spk.name / f"{uid}.npz",
             opening=opening.astype(np.float32), width=width.astype(np.float32),
             rounding=params[:, PARAMS.index("round")], spread=params[:, PARAMS.index("spread")],
             jaw=params[:, PARAMS.index("jaw")], teeth=params[:, PARAMS.index("teeth")],
             open=params[:, PARAMS.index("open")], landmarks=landmarks.astype(np.float32),
             fps=np.float32(FPS))
    write_video(out / spk.name / "video" / f"{uid}.mp4", frames, FPS, audio=wave, audio_fs=AUDIO_FS)
    return f"{spk.name}/{uid}"


def _clear(out: Path) -> None:
    """Remove what a previous `synth` wrote in `out` (only the synthetic layout's own entries)."""
    for child in out.iterdir():
        if child.name in ("audio", "alignments", "truth") or re.fullmatch(r"s\d+", child.name):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        elif child.name == "synth.json":
            child.unlink()


def synth_corpus(
    out: str | Path,
    speakers: int = 4,
    utterances: int | Sequence[int] = 50,
    seed: int = 0,
    jobs: int = 1,
    overwrite: bool = False,
    show_progress: bool = True,
) -> JobReport:
    """Generate a synthetic GRID-like corpus of `speakers` x `utterances` clips into `out` (`utterances`: one
    count for every speaker, or one per speaker), deterministic for `seed`."""
    out = Path(out)
    try:
        counts = utterance_counts(speakers, utterances)
    except ValueError as exc:
        raise Lip2SpeechError(str(exc), out) from None
    if speakers < 1 or min(counts) < 1:
        raise Lip2SpeechError(f"need at least 1 speaker and 1 utterance, got {speakers} x {utterances}", out)
    n_sentences = int(np.prod([len(pairs) for pairs in SLOTS.values()]))
    if max(counts) > n_sentences // 2:
        raise Lip2SpeechError(f"at most {n_sentences // 2} utterances per speaker (GRID has {n_sentences} "
                              f"sentences), got {max(counts)}", out)
    if out.exists() and not out.is_dir():
        raise Lip2SpeechError("output exists and is not a folder", out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise Lip2SpeechError("output folder is not empty (use --overwrite to replace its synthetic corpus)", out)
        _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    spk = make_speakers(speakers, seed)
    sentences = draw_sentences(speakers, utterances, seed)
    items = [
        ClipPlan(str(out), s, words, int(np.random.SeedSequence([seed, 3, i, u]).generate_state(1)[0]))
        for i, s in enumerate(spk)
        for u, words in enumerate(sentences[i])
    ]
    write_json(out / "synth.json", {
        "generator": "lip2speech synth",
        "seed": seed,
        "speakers": [dataclasses.asdict(s) for s in spk],
        "utterances_per_speaker": utterances,
        "fps": FPS,
        "audio_fs": AUDIO_FS,
        "duration_s": DURATION,
        "face": "skimage.data.astronaut, mouth warped to eSpeak NG phone timings",
    })
    return run_jobs(generate_utterance, items, jobs=jobs, desc="synth", show_progress=show_progress)
