"""Auditory spectrogram (NSL early auditory model) and its inversion to a waveform."""

from .filterbank import Filterbank, centre_frequencies, lip2speech_filters, load_nsl_filters
from .inversion import invert_auditory_spectrogram
from .io import load_audio, read_audio
from .spectrogram import auditory_spectrogram

__all__ = [
    "Filterbank",
    "auditory_spectrogram",
    "centre_frequencies",
    "invert_auditory_spectrogram",
    "lip2speech_filters",
    "load_audio",
    "load_nsl_filters",
    "read_audio",
]
