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

corpus_app = typer.Typer(help="Inspect a GRID corpus folder.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("info")
def corpus_info(
    root: Path = typer.Argument(..., help="GRID corpus folder (speaker folders s1/, s2/ ... or one flat folder)."),
    speakers: Optional[list[str]] = typer.Option(
        None, "--speakers", "-s", help="Only these speakers (comma-separated or repeated), e.g. -s s1,s2."),
    check_media: bool = typer.Option(
        True, "--check-media/--no-check-media", help="Read every video and WAV header (durations, corrupt files)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for the media check (0 = all cores)."),
) -> None:
    """Print speakers, utterance counts, total duration and every problem found, one line each."""
    from .corpus.grid import describe_scan, scan_corpus
    from .parallel import default_jobs

    wanted = [s for item in speakers for s in item.split(",") if s] if speakers else None
    scan = scan_corpus(root, wanted, check_media=check_media, jobs=jobs or default_jobs())
    for line in describe_scan(scan):
        typer.echo(line)


# (the top-level `synth` command goes here)

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
