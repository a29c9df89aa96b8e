"""Text to speech with eSpeak NG through its C API: waveform plus the synthesiser's own word and phone timings."""

from __future__ import annotations

import ctypes
import os
import pickle
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import Lip2SpeechError

# espeak_EVENT_TYPE and other constants from espeak-ng's speak_lib.h (API revision 12).
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # text within [[ ]] is eSpeak phoneme code
_POS_CHARACTER = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of this synthesis
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """An eSpeak NG voice: language, variant (e.g. 'm3', 'f2'), pitch and range (0-100), rate (words/min)."""

    language: str = "en-us"
    variant: str = "m1"
    pitch: int = 50
    pitch_range: int = 50
    rate: int = 160
    word_gap: int = 0  # extra pause between words, units of 10 ms

    @property
    def name(self) -> str:
        """The voice name given to espeak_SetVoiceByName."""
        return f"{self.language}+{self.variant}" if self.variant else self.language


@dataclass
class Phone:
    """One phone: eSpeak mnemonic (stress marks removed), start and end in seconds, index of its word (-1: pause)."""

    symbol: str
    start: float
    end: float
    word: int


@dataclass
class Speech:
    """Synthesised speech: mono float32 samples in [-1, 1] at `fs` Hz, word intervals (s) and phones."""

    samples: np.ndarray
    fs: int
    words: list[tuple[str, float, float]] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)


class _Engine:
    """The process-wide eSpeak NG instance (the library has global state: one per process)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise Lip2SpeechError(f"eSpeak NG is not installed ({exc}); pip install espeakng-loader") from None
        lib_path = espeakng_loader.get_library_path()
        data_path = espeakng_loader.get_data_path()
        self.lib = ctypes.CDLL(lib_path)
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        # `path` is the folder that contains espeak-ng-data.
        fs = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.path.dirname(data_path).encode(),
                                        _INITIALIZE_PHONEME_EVENTS)
        if fs <= 0:
            raise Lip2SpeechError("eSpeak NG failed to initialise", data_path)
        self.fs = int(fs)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds only the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, events) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:
            ev = events[i]
            label = ev.id.string.decode(errors="replace") if ev.type == _EVENT_PHONEME else str(ev.id.number)
            self._events.append((ev.type, ev.audio_position, ev.text_position, label))
            i += 1
        return 0

    def synthesise(self, text: str, voice: Voice) -> tuple[np.ndarray, list[tuple[int, int, int, str]]]:
        self._chunks, self._events = [], []
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise Lip2SpeechError(f"eSpeak NG has no voice '{voice.name}'")
        for param, value in ((_PARAM_RATE, voice.rate), (_PARAM_PITCH, voice.pitch),
                             (_PARAM_RANGE, voice.pitch_range), (_PARAM_WORDGAP, voice.word_gap),
                             (_PARAM_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _PHONEMES, None, None)
        if err != 0:
            raise Lip2SpeechError(f"eSpeak NG synthesis failed (error {err}) for: {text}")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return samples.astype(np.float32) / 32768.0, list(self._events)


_ENGINE: _Engine | None = None


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine()
    return _ENGINE


def _synthesise_fresh(eng: _Engine, text: str, voice: Voice) -> tuple[np.ndarray, list]:
    """Synthesise in a forked child of this never-used engine, so every call starts from the same state.

    eSpeak NG carries state from one message to the next (timing differs by pitch periods) and draws noise
    from libc's rand(), which would make the corpus depend on the order utterances were generated in.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - non-POSIX: deterministic only per process order
        return eng.synthesise(text, voice)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: synthesise, send the result, exit without running any Python cleanup
        code = 1
        try:
            os.close(read_fd)
            # eSpeak draws noise (fricatives, breathy voices) from libc rand(): seed it from the request.
            ctypes.CDLL(None).srand(zlib.crc32(f"{voice}|{text}".encode()))
            payload = pickle.dumps(eng.synthesise(text, voice))
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        payload = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        raise Lip2SpeechError(f"eSpeak NG synthesis failed (voice {voice.name}) for: {text}")
    return pickle.loads(payload)


#: Words eSpeak would read differently in a sentence, written as eSpeak phonemes: the GRID letter "a"
#: would otherwise be the article (a schwa joined to the word before).
_SPOKEN = {"a": "[['eI]]"}


def synthesise(words: list[str] | tuple[str, ...], voice: Voice = Voice()) -> Speech:
    """Speak `words` with `voice`; return the waveform (Hz = eSpeak's rate) and the word/phone timings (s)."""
    eng = _engine()
    text = " ".join(_SPOKEN.get(w, w) for w in words)
    samples, events = _synthesise_fresh(eng, text, voice)
    duration = len(samples) / eng.fs
    phones: list[Phone] = []
    current = -1
    for etype, pos_ms, _, label in events:
        t = pos_ms / 1000.0
        if etype == _EVENT_WORD:
            current = int(label) - 1  # word events number the words of the text from 1
        elif etype == _EVENT_PHONEME:
            symbol = label.replace("'", "").replace(",", "")
            if phones:
                phones[-1].end = t
            is_pause = symbol.startswith("_") or symbol == ""
            phones.append(Phone(symbol or "_", t, duration, -1 if is_pause else current))
    phones = [p for p in phones if p.end > p.start or p.word >= 0]
    word_spans: list[tuple[str, float, float]] = []
    for i, w in enumerate(words):
        own = [p for p in phones if p.word == i]
        if not own:
            raise Lip2SpeechError(f"eSpeak NG produced no phones for '{w}' in: {text}")
        word_spans.append((w, own[0].start, own[-1].end))
    return Speech(samples, eng.fs, word_spans, phones)
