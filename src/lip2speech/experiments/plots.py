"""Report figures as PNG bytes (matplotlib, Agg backend): spectrograms, waveforms, metric vs speakers."""

from __future__ import annotations

import io
from typing import Mapping, Sequence

import numpy as np

from ..timebase import SPEC_FRAME_S

#: Spectrogram frame period (s): 8 ms frames of the auditory spectrogram.

SYSTEM_COLOURS = {"gf2s": "tab:blue", "gp2s": "tab:orange", "lip2audspec": "tab:green"}


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def spectrogram_figure(panels: Sequence[tuple[str, np.ndarray]], frame_s: float = SPEC_FRAME_S) -> bytes:
    """Stacked auditory spectrograms, each (frames, channels), time in seconds, channel 0 at the bottom."""
    plt = _plt()
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.5 * len(panels) + 0.4), sharex=True, squeeze=False,
                             layout="constrained")
    for ax, (title, spec) in zip(axes[:, 0], panels):
        spec = np.asarray(spec, dtype=np.float64)
        hi = float(np.percentile(spec, 99.5)) if spec.size else 1.0
        ax.imshow(spec.T, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=hi or 1.0,
                  extent=(0, spec.shape[0] * frame_s, 0, spec.shape[1]))
        ax.set_ylabel("channel")
        ax.set_title(title, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    return _png(fig)


def waveform_figure(panels: Sequence[tuple[str, np.ndarray]], fs: int) -> bytes:
    """Stacked waveforms sampled at `fs` Hz, each scaled to its own peak, time in seconds."""
    plt = _plt()
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.1 * len(panels) + 0.5), sharex=True, squeeze=False,
                             layout="constrained")
    for ax, (title, wav) in zip(axes[:, 0], panels):
        wav = np.asarray(wav, dtype=np.float64).ravel()
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        ax.plot(np.arange(wav.size) / fs, wav / peak if peak > 0 else wav, lw=0.4, color="0.2")
        ax.set_ylim(-1.05, 1.05)
        ax.set_yticks([])
        ax.set_title(title, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    return _png(fig)


def speakers_figure(
    ours: Mapping[str, Sequence[tuple[int, float, float, float]]],
    published: Mapping[str, Mapping[int, float]],
    metric: str = "corr2",
    ours_train: Mapping[str, Mapping[int, float]] | None = None,
) -> bytes:
    """Metric vs number of speakers: ours on test (system -> [(n, mean, ci_low, ci_high)]) solid, ours on train
    (system -> {n: mean}) dotted, published dashed."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for system in sorted(set(ours) | set(published)):
        colour = SYSTEM_COLOURS.get(system)
        points = sorted(ours.get(system, []))
        if points:
            n, mean, lo, hi = (np.array(v, dtype=np.float64) for v in zip(*points))
            err = np.vstack([mean - lo, hi - mean])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(n, mean, yerr=err, marker="o", capsize=3, color=colour, label=f"{system} (ours, test)")
        train = sorted((ours_train or {}).get(system, {}).items())
        if train:
            ax.plot([p[0] for p in train], [p[1] for p in train], ls=":", marker="^", color=colour,
                    label=f"{system} (ours, train)")
        pub = sorted(published.get(system, {}).items())
        if pub:
            ax.plot([p[0] for p in pub], [p[1] for p in pub], ls="--", marker="s", mfc="none",
                    color=colour, label=f"{system} (published)")
    ticks = sorted({p[0] for pts in ours.values() for p in pts} | {n for pub in published.values() for n in pub})
    if ticks:
        ax.set_xticks(ticks)
    ax.set_xlabel("number of speakers")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def words_figure(per_word: Mapping[str, Mapping[str, float]], metric: str = "corr2") -> bytes:
    """Grouped bars of a metric per word (word -> system -> value)."""
    plt = _plt()
    words = list(per_word)
    systems = sorted({s for v in per_word.values() for s in v})
    fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * len(words) * max(1, len(systems))), 3.2))
    width = 0.8 / max(1, len(systems))
    x = np.arange(len(words))
    for i, system in enumerate(systems):
        vals = [per_word[w].get(system, np.nan) for w in words]
        ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=system, color=SYSTEM_COLOURS.get(system))
    ax.set_xticks(x)
    ax.set_xticklabels(words, rotation=90, fontsize=7)
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)
