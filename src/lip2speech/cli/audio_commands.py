"""Commands of the audio stage: audspec (auditory spectrograms), resynth (their inversion)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


_AUDIO_IN_SUFFIXES = {".wav", ".flac", ".ogg", ".mpg", ".mpeg", ".mp4", ".avi", ".mov", ".mkv", ".webm"}


def _audio_batch(fn, inputs: list[Path], out: Path, suffix: str, jobs: int, desc: str, plot: Optional[Path] = None):
    """Run fn(src, dst[, plot]) over inputs: one input -> out is the file; several -> out is a folder."""
    from ..audio.files import SPECTROGRAM_SUFFIXES, expand_inputs
    from ..fileio import check_writable
    from ..parallel import run_jobs

    files = expand_inputs(inputs, _AUDIO_IN_SUFFIXES | SPECTROGRAM_SUFFIXES)
    single = len(files) == 1 and not (out.is_dir() or len(inputs) > 1 or inputs[0].is_dir())
    check_writable(out, folder=not single)
    if plot is not None:
        check_writable(plot, folder=not single)
    if single:
        return [fn((files[0], out, plot))], []
    items = [(f, out / f"{f.stem}{suffix}", None if plot is None else plot / f"{f.stem}.png") for f in files]
    report = run_jobs(fn, items, jobs=jobs, desc=desc)
    for line in report.failures:
        typer.secho(f"skipped: {line}", fg=typer.colors.YELLOW, err=True)
    return report.results, report.failures


def _audspec_job(item, fs: int = 8000, nsl_table: Optional[str] = None):
    from ..audio.files import audspec_file

    src, dst, plot = item
    return audspec_file(src, dst, plot, fs=fs, nsl_table=nsl_table)


def _resynth_job(item, fs: int = 8000, n_iter: Optional[int] = None, method: str = "lbfgs", seed: int = 0,
                 nsl_table: Optional[str] = None):
    from ..audio.files import resynth_file

    src, dst, _ = item
    return resynth_file(src, dst, fs=fs, n_iter=n_iter, method=method, seed=seed, nsl_table=nsl_table)


@app.command("audspec")
def audspec(
    inputs: list[Path] = typer.Argument(..., help="WAV/audio or video files, or folders of them."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .npy (one input) or folder (several: <name>.npy)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also save a picture (.png; a folder for several)."),
    fs: int = typer.Option(8000, "--fs", help="Analysis sample rate in Hz (16 kHz * 2^k; 8000 = NSL's -1 octave)."),
    nsl_table: Optional[Path] = typer.Option(
        None, "--nsl-table", help="NSL aud24.mat to use the original cochlear filters instead of lip2speech's own."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for several inputs (0 = all cores)."),
) -> None:
    """Auditory spectrogram (N x 128, 125 frames/s at 8 ms) of audio or video files, saved as float32 .npy."""
    from functools import partial

    from ..parallel import default_jobs

    table = None if nsl_table is None else str(nsl_table)
    results, failures = _audio_batch(partial(_audspec_job, fs=fs, nsl_table=table), inputs, out, ".npy",
                                     jobs or default_jobs(), "audspec", plot)
    typer.echo(f"wrote {len(results)} spectrogram(s) to {out}" + (f"; {len(failures)} failed" if failures else ""))
    if failures:
        raise typer.Exit(1)


@app.command("resynth")
def resynth(
    inputs: list[Path] = typer.Argument(..., help="Saved spectrograms (.npy, or .npz with 'aud'), or audio/video files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .wav (one input) or folder (several: <name>.wav)."),
    iters: Optional[int] = typer.Option(None, "--invert-iters", help="Iterations: the quality/time knob (default 20 lbfgs, 2 cg, 30 nsl)."),
    method: str = typer.Option("lbfgs", "--invert-method", help="lbfgs (default: better quality than nsl at the same cost), cg (conjugate gradients, exact line search: best for few iterations) or nsl (NSL aud2wav projection)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the starting waveform."),
    fs: int = typer.Option(8000, "--fs", help="Sample rate of the spectrogram and the WAV (Hz)."),
    nsl_table: Optional[Path] = typer.Option(None, "--nsl-table", help="NSL aud24.mat filters instead of lip2speech's own."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for several inputs (0 = all cores)."),
) -> None:
    """Resynthesise speech (16-bit WAV at --fs) from auditory spectrograms by inverting the auditory model."""
    from functools import partial

    from ..parallel import default_jobs

    table = None if nsl_table is None else str(nsl_table)
    job = partial(_resynth_job, fs=fs, n_iter=iters, method=method, seed=seed, nsl_table=table)
    results, failures = _audio_batch(job, inputs, out, ".wav", jobs or default_jobs(), "resynth")
    typer.echo(f"wrote {len(results)} waveform(s) ({sum(results):.1f} s) to {out}"
               + (f"; {len(failures)} failed" if failures else ""))
    if failures:
        raise typer.Exit(1)
