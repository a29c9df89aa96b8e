"""The `lip2speech` Typer application the command modules register on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lip2speech",
    help="Reconstruct speech from silent lip video (GaborFea2Speech, GaborPic2Speech, Lip2AudSpec).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
