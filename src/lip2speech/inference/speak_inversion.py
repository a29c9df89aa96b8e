"""How `speak` inverts its predicted spectrograms (also `evaluate --speak-inversion`); no heavy imports, so the
CLI can show these defaults without loading the audio path.

1 conjugate-gradient iteration from a steady voice at 90 Hz (the harmonic start; `evaluate` keeps 20 of L-BFGS
from channel sinusoids). Chosen on grid-s1's 32 validation clips (README, "Auditory spectrogram and inversion"):
STOI 0.563 against 0.534 for 2 iterations from the sinusoidal start.
"""

SPEAK_METHOD: str = "cg"  # cg or lbfgs
SPEAK_ITERS: int = 1  # iterations of SPEAK_METHOD
SPEAK_START: str = "harmonic"  # harmonic or sine
SPEAK_F0: float = 90.0  # Hz, the harmonic start's pitch
