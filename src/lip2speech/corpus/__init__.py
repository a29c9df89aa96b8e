"""Corpora: the GRID reader and the built-in synthetic GRID-like corpus."""

from .grammar import SLOTS, WORDS, name_from_sentence, sentence_from_name
from .grid import describe_scan, scan_corpus
from .records import CorpusScan, Utterance, read_align

__all__ = ["SLOTS", "WORDS", "CorpusScan", "Utterance", "describe_scan", "name_from_sentence", "read_align",
           "scan_corpus", "sentence_from_name"]
