"""The command that adapts a trained whole-utterance model to a new speaker's own clips."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("adapt")
def adapt_cmd(
    videos: list[Path] = typer.Argument(..., metavar="VIDEO...", help="The new speaker's clips with their sound "
                                        "(files or folders; at least 3 usable, each 1 s or longer). A clip named "
                                        "as a GRID sentence (bbaf2n.mp4) also trains the word read-out."),
    model: str = typer.Option("grid-s1", "--model", "-m", help="The model to start from: a shipped name "
                              "(see `lip2speech models`) or a whole-utterance (gu2s) run folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder of the adapted model (works wherever a run folder "
                             "does: speak, evaluate); re-run to resume."),
    speaker: str = typer.Option("new", "--speaker", help="Name of the new speaker (its lip statistics are kept "
                                "under it; speak uses them)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Fine-tuning epochs (default 30: "
                                         "configs/adapt.yaml)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default 3e-3, one-cycle)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads (default 1; 0 = all cores)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Processes preparing the clips (0 = all cores)."),
) -> None:
    """Fine-tune a trained model on a new speaker's clips (video with sound): 20% of them validate, the best
    epoch is kept. Clips without sound, without a face or under 1 s are skipped and listed (exit 1)."""
    from ..training.adapt import adapt
    from ..fileio import check_writable
    from ..parallel import default_jobs

    check_writable(out, folder=True)
    over: dict = {}
    if epochs is not None:
        over["max_epochs"] = epochs
    if lr is not None:
        over["lr"] = lr
    if threads is not None:
        over["threads"] = threads
    report = adapt(model, out, videos, speaker=speaker, overrides=over, jobs=jobs or default_jobs(),
                   log=lambda line: typer.secho(line, fg=typer.colors.YELLOW, err=True) if line.startswith("skipped")
                   else typer.echo(line))
    typer.echo(report.summary())
    typer.echo(f"speak with it: lip2speech speak {out} VIDEO --out speech.wav")
    if report.skipped:
        raise typer.Exit(1)
