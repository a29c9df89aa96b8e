"""Corpora: the GRID reader and the built-in synthetic GRID-like corpus."""

from .grammar import SLOTS, WORDS, name_from_sentence, sentence_from_name

__all__ = ["SLOTS", "WORDS", "name_from_sentence", "sentence_from_name"]
