"""The names of the lip-to-speech systems, in one place (the configs, the CLI and every stage read them)."""

PUBLISHED_SYSTEMS = ("gf2s", "gp2s", "lip2audspec")  # the study's systems: windows of lips -> AE bottleneck codes
UTTERANCE_SYSTEMS = ("gu2s",)  # whole utterance of lips -> spectrogram (no autoencoder)
SYSTEMS = PUBLISHED_SYSTEMS + UTTERANCE_SYSTEMS
