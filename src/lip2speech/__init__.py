"""lip2speech: speech reconstruction from silent lip video."""

__version__ = "0.1.0"
