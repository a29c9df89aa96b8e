"""The GRID sentence grammar: six word slots, 51 words, and the file-name code of a sentence."""

from __future__ import annotations

from ..errors import Lip2SpeechError

#: Slot name -> (code letter, word) pairs, in sentence order. The code is the file-name character.
SLOTS: dict[str, tuple[tuple[str, str], ...]] = {
    "command": (("b", "bin"), ("l", "lay"), ("p", "place"), ("s", "set")),
    "colour": (("b", "blue"), ("g", "green"), ("r", "red"), ("w", "white")),
    "preposition": (("a", "at"), ("b", "by"), ("i", "in"), ("w", "with")),
    "letter": tuple((c, c) for c in "abcdefghijklmnopqrstuvxyz"),  # no 'w' in GRID
    "digit": (("z", "zero"), ("1", "one"), ("2", "two"), ("3", "three"), ("4", "four"),
              ("5", "five"), ("6", "six"), ("7", "seven"), ("8", "eight"), ("9", "nine")),
    "adverb": (("a", "again"), ("n", "now"), ("p", "please"), ("s", "soon")),
}

SLOT_NAMES: tuple[str, ...] = tuple(SLOTS)
#: Every word of the grammar (51).
WORDS: tuple[str, ...] = tuple(w for pairs in SLOTS.values() for _, w in pairs)


def sentence_from_name(name: str) -> tuple[str, ...]:
    """The six words encoded by a GRID file stem such as `bbaf2n` (extension ignored)."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0].lower()
    if len(stem) != 6:
        raise Lip2SpeechError(f"not a GRID sentence name (need 6 characters, got {len(stem)})", name)
    words = []
    for ch, (slot, pairs) in zip(stem, SLOTS.items()):
        table = dict(pairs)
        if ch not in table:
            raise Lip2SpeechError(f"not a GRID sentence name ('{ch}' is no {slot})", name)
        words.append(table[ch])
    return tuple(words)


def name_from_sentence(words: tuple[str, ...] | list[str]) -> str:
    """The 6-character file stem of a GRID sentence (inverse of `sentence_from_name`)."""
    if len(words) != len(SLOTS):
        raise Lip2SpeechError(f"a GRID sentence has 6 words, got {len(words)}: {' '.join(words)}")
    out = []
    for word, (slot, pairs) in zip(words, SLOTS.items()):
        table = {w: c for c, w in pairs}
        if word not in table:
            raise Lip2SpeechError(f"'{word}' is not a GRID {slot}")
        out.append(table[word])
    return "".join(out)
