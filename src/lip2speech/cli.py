"""The `lip2speech` command line: thin wrappers over the library, one section per pipeline stage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import Lip2SpeechError

app = typer.Typer(
    name="lip2speech",
    help="Reconstruct speech from silent lip video (GaborFea2Speech, GaborPic2Speech, Lip2AudSpec).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# ---- corpus (issue: corpus reader + synthetic corpus) -------------------------------------------

# ---- lips (issue: lip Gabor front end) -----------------------------------------------------------

# ---- audio (issue: auditory spectrogram + inversion) ---------------------------------------------

# ---- prepare / train / speak ---------------------------------------------------------------------

# ---- evaluate / experiment / report / demo -------------------------------------------------------


def main() -> None:
    """Console entry point: user errors become one clear line and exit code 2."""
    try:
        app()
    except Lip2SpeechError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
