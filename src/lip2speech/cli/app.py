"""The `lip2speech` Typer application the command modules register on."""

from __future__ import annotations

import typer

from . import help_format

help_format.apply()
EXIT_CODES = ("Exit codes: 0 done; 1 done, but some items were skipped or failed (each listed); "
              "2 error (bad input or an unwritable output: one line, nothing half-written).")

app = typer.Typer(
    name="lip2speech",
    help="Reconstruct speech from silent lip video (GaborFea2Speech, GaborPic2Speech, Lip2AudSpec, gu2s).",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"lip2speech {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Reconstruct speech from silent lip video (GaborFea2Speech, GaborPic2Speech, Lip2AudSpec, gu2s)."""
