"""The `lip2speech` command line: thin wrappers over the library, one module per group of pipeline stages
(corpus and lips, audio, models, results); `main` turns user errors into one clear line."""

from __future__ import annotations

import sys

import typer

from ..errors import Lip2SpeechError
# importing a command module registers its commands, in this order in --help
from . import corpus_commands  # noqa: F401, I001
from . import audio_commands  # noqa: F401
from . import model_commands  # noqa: F401
from . import adapt_commands  # noqa: F401
from . import result_commands  # noqa: F401
from .app import EXIT_CODES, app

for _info in [*app.registered_commands, *(c for g in app.registered_groups
                                          for c in g.typer_instance.registered_commands)]:
    _info.epilog = _info.epilog or EXIT_CODES  # every command's --help says what its exit code means


def main() -> None:
    """Console entry point: user errors and OS errors (an unwritable path, a full disk) become one clear line and
    exit code 2."""
    try:
        app()
    except Lip2SpeechError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except OSError as exc:
        where = exc.filename if exc.filename is not None else ""
        typer.secho(f"error: {where}{': ' if where else ''}{exc.strerror or exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
