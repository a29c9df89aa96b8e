"""Commands of the corpus and lip stages: corpus info, synth, lips."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import Lip2SpeechError
from .app import app
from .options import speaker_list


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
    from ..corpus.grid import describe_scan, scan_corpus
    from ..parallel import default_jobs

    scan = scan_corpus(root, speaker_list(speakers) or None, check_media=check_media, jobs=jobs or default_jobs())
    for line in describe_scan(scan):
        typer.echo(line)
    if not scan.utterances:
        raise Lip2SpeechError(f"no usable utterance ({len(scan.problems)} problem(s) listed above)", root)
    if any(p.endswith("(skipped)") for p in scan.problems):
        raise typer.Exit(1)


@app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Output folder (GRID layout: s1/video, audio/s1, alignments/s1, truth/s1)."),
    speakers: int = typer.Option(4, "--n-speakers", "-n", help="Number of synthetic speakers (s1..sN)."),
    utterances: int = typer.Option(50, "--utterances", "-m", help="Utterances (distinct sentences) per speaker."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same corpus."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the synthetic corpus in a non-empty folder."),
) -> None:
    """Generate a synthetic GRID-like corpus: eSpeak NG speech, a talking face video, alignments and ground truth."""
    import time

    from ..corpus.synth import synth_corpus
    from ..fileio import check_writable
    from ..parallel import default_jobs

    check_writable(out, folder=True)
    start = time.perf_counter()
    report = synth_corpus(out, speakers, utterances, seed, jobs=jobs or default_jobs(), overwrite=overwrite)
    for line in report.failures:
        typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"wrote {len(report.results)} utterances ({speakers} speakers) to {out} "
               f"in {time.perf_counter() - start:.0f} s; {len(report.failures)} failed")
    if report.failures:
        raise typer.Exit(1)

# ---- lips (issue: lip Gabor front end) -----------------------------------------------------------


@app.command("lips")
def lips(
    video: Path = typer.Argument(..., help="A video file (MPEG-1, MP4, AVI, MOV, ...) or a folder of videos (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .npz (a video) or folder (a folder: <relative path>.npz)."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Also write an MP4 preview (a single video only)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for a folder (0 = all cores)."),
    legacy: bool = typer.Option(False, "--legacy", help="Reproduce the published JPEG round trip and region choice."),
    face_size: Optional[str] = typer.Option(None, "--face-size", metavar="PX|MODEL", help="Side of the grey face "
                                            "crops in px (default 64), or the size a model reads (e.g. grid-s1: "
                                            "what `speak --model grid-s1` accepts)."),
    mouth_width: Optional[str] = typer.Option(
        None, "--mouth-width", metavar="PX|MODEL|off", help="Rescale so the median mouth box is this wide in px "
        "(GRID ~73), or a model's training scale (e.g. grid-s1: what `speak --model grid-s1` accepts), for lips "
        "on that scale from footage of any size; default: video px, as published."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Folder: redo videos whose .npz already exists."),
) -> None:
    """Extract lip features: landmarks, mouth boxes, Gabor pictures (GP) and features (GF), face crops."""
    import time

    from ..fileio import check_writable
    from ..lips.track import extract_folder, extract_lips, find_videos, render_preview

    from .options import parse_face_size, parse_mouth_width

    width = parse_mouth_width(mouth_width, default=None)
    if width == "model":
        raise Lip2SpeechError("lips has no model: give --mouth-width a width in px or a model's name")
    side = parse_face_size(face_size)
    start = time.perf_counter()
    if not video.exists():
        raise Lip2SpeechError("video not found", video)
    check_writable(out, folder=video.is_dir())
    if preview is not None:
        check_writable(preview)
    if video.is_dir():
        if preview is not None:
            raise Lip2SpeechError("--preview needs a single video, not a folder", video)
        if not find_videos(video):
            raise Lip2SpeechError("no videos found in the folder", video)
        report = extract_folder(video, out, jobs=jobs or None, overwrite=overwrite, legacy=legacy, face_size=side,
                                mouth_width=width)
        for line in report.failures:
            typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
        total = len(report.results) + len(report.failures)
        typer.echo(f"extracted {len(report.results)} of {total} videos to {out} in {time.perf_counter() - start:.1f} s; "
                   f"{len(report.failures)} failed")
        if report.failures:
            raise typer.Exit(1)
        return
    track = extract_lips(video, legacy=legacy, face_size=side, mouth_width=width)
    track.save(out)
    typer.echo(f"wrote {out}: {len(track)} frames at {track.fps:g} fps, face on {int(track.valid.sum())} "
               f"({time.perf_counter() - start:.1f} s)")
    if preview is not None:
        render_preview(video, track, preview)
        typer.echo(f"wrote {preview}")
