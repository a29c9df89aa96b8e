"""What a model's STOI lacks: its predicted spectrograms scored with one property swapped for the truth's (oracles),
and STOI's per-band intermediate correlations, on clips of a run's split; speak's inversion, against the original
recordings.

    python benchmarks/stoi_oracle.py --model RUN --corpus ../shared/data/grid-s1 \
        [--corpus ../shared/data/grid-s1-more] [--split val] [--clips N] [--jobs 2]

RUN: a trained run folder with validation clips (e.g. a lever arm of benchmarks/levers.py; its features folder is
the run's own). Rows, each paired with the prediction clip by clip:
- `true spectrogram`: the ceiling of the inversion;
- `true loudness`: each predicted frame scaled to the true frame's loudness (all channels summed);
- `true loudness over W ms`: the true loudness course smoothed over W ms, relative to the predicted one smoothed
  alike (the loudness detail finer than W stays the model's);
- `true shape, predicted loudness`: the true spectrogram scaled to the predicted loudness.
Then STOI's intermediate correlation in each 1/3-octave band for the prediction and for the true spectrogram, and
the correlation of the predicted frame loudness with the true one at lags of -40 to +40 ms (is it early or late?).
An oracle is a diagnosis, never a score: it uses the truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SMOOTHING_MS = (40, 120, 360)


def loudness(spec: np.ndarray) -> np.ndarray:
    """Frame loudness (N, 1) of a linear spectrogram (N, channels): the channels summed."""
    return spec.sum(1, keepdims=True) + 1e-9


def oracles(pred: np.ndarray, true: np.ndarray, frame_s: float) -> dict[str, np.ndarray]:
    """Name -> spectrogram of each oracle of a prediction `pred` against the truth `true` (both (N, channels),
    linear, frames of `frame_s` seconds)."""
    from scipy.ndimage import uniform_filter1d

    n = min(len(pred), len(true))
    pred, true = pred[:n], true[:n]
    out = {"prediction": pred, "true spectrogram": true, "true loudness": pred * loudness(true) / loudness(pred)}
    for ms in SMOOTHING_MS:
        w = max(1, round(ms / 1000 / frame_s))
        smooth_t, smooth_p = (uniform_filter1d(loudness(x), w, axis=0) for x in (true, pred))
        out[f"true loudness over {ms} ms"] = pred * smooth_t / smooth_p
    out["true shape, predicted loudness"] = true * loudness(pred) / loudness(true)
    return out


def lagged_correlations(pred: np.ndarray, true: np.ndarray, lags: range) -> np.ndarray:
    """Correlation of the predicted frame loudness with the true one shifted by each lag (frames; positive: the
    prediction later), (len(lags),)."""
    n = min(len(pred), len(true))
    p, t = loudness(pred[:n])[:, 0], loudness(true[:n])[:, 0]
    return np.array([np.corrcoef(p[lag:], t[:n - lag])[0, 1] if lag >= 0 else np.corrcoef(p[:lag], t[-lag:])[0, 1]
                     for lag in lags])


def band_correlations(ref: np.ndarray, wave: np.ndarray, fs: int) -> np.ndarray:
    """STOI's intermediate intelligibility per 1/3-octave band (15,): the mean over its 384 ms segments of the
    correlation of the clipped, normalised band envelopes (Taal et al. 2011), as pystoi computes it."""
    from pystoi import utils
    from pystoi.stoi import BETA, DYN_RANGE, FS, N, N_FRAME, NFFT, OBM

    x, y = utils.resample_oct(ref, FS, fs), utils.resample_oct(wave, FS, fs)
    x, y = utils.remove_silent_frames(x, y, DYN_RANGE, N_FRAME, N_FRAME // 2)
    bands = [np.sqrt(OBM @ np.abs(utils.stft(v, N_FRAME, NFFT, overlap=2).T) ** 2) for v in (x, y)]
    xs, ys = (np.stack([b[:, m - N:m] for m in range(N, b.shape[1] + 1)]) for b in bands)
    ys = ys * np.linalg.norm(xs, axis=2, keepdims=True) / (np.linalg.norm(ys, axis=2, keepdims=True) + utils.EPS)
    ys = np.minimum(ys, xs * (1 + 10 ** (-BETA / 20)))
    xs, ys = xs - xs.mean(2, keepdims=True), ys - ys.mean(2, keepdims=True)
    r = (xs * ys).sum(2) / (np.linalg.norm(xs, axis=2) * np.linalg.norm(ys, axis=2) + utils.EPS)
    return r.mean(0)


def score(job: tuple) -> tuple[str, dict[str, tuple[float, float]], np.ndarray, np.ndarray]:
    """(key, {oracle: (STOI, ESTOI)}, band correlations of the prediction, of the truth) of one clip."""
    key, item, pred = job
    from lip2speech.evaluation.metrics import estoi, stoi
    from lip2speech.evaluation.scoring import EvalOptions, invert, reference_audio
    from lip2speech.timebase import SPEC_FRAME_S

    opts = EvalOptions().with_speak_inversion()
    ref, _ = reference_audio(item, opts)
    fs = int(item["fs"])
    scores, waves = {}, {}
    for name, spec in oracles(pred, np.asarray(item["aud"], np.float64), SPEC_FRAME_S).items():
        waves[name] = invert(spec, opts, fs)
        scores[name] = (stoi(ref, waves[name], fs), estoi(ref, waves[name], fs))
    return (key, scores, band_correlations(ref, waves["prediction"], fs),
            band_correlations(ref, waves["true spectrogram"], fs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="run folder")
    ap.add_argument("--corpus", type=Path, action="append", required=True, help="corpus folder(s) of the clips")
    ap.add_argument("--split", default="val")
    ap.add_argument("--clips", type=int, default=None, help="only the first N clips of the split (sorted)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    from pystoi.stoi import CF

    from lip2speech.evaluation.evaluate import corpus_sources, predict_all
    from lip2speech.evaluation.metrics import paired_difference, paired_text
    from lip2speech.evaluation.scoring import portable
    from lip2speech.inference import load_run
    from lip2speech.parallel import run_jobs
    from lip2speech.timebase import SPEC_FRAME_S

    rec = load_run(args.model)
    keys = sorted(rec.split.get(args.split, []))[: args.clips]
    if not keys:
        raise SystemExit(f"{args.model}: its split has no '{args.split}' clips")
    sources = corpus_sources(args.corpus)
    missing = [k for k in keys if k not in sources]
    if missing:  # an oracle is scored against the original recording, never against an inverted target
        raise SystemExit(f"{missing[0]}: not in {', '.join(map(str, args.corpus))}")
    preds, _, failures = predict_all(rec, rec.features_dir, keys, sources, False, args.split, True)
    jobs = [(key, portable(item), pred) for key, (item, pred, _) in preds.items()]
    report = run_jobs(score, jobs, jobs=args.jobs, desc="oracles")
    for line in failures + report.failures:
        print(f"skipped {line}")
    rows = report.results
    names = list(rows[0][1])
    print(f"\n{len(rows)} {args.split} clips of {args.model}, speak's inversion; each row minus the prediction, "
          "paired: mean [95% interval]\n")
    print("| spectrogram | STOI | ESTOI | STOI minus the prediction | ESTOI minus the prediction |")
    print("|---|---|---|---|---|")
    for name in names:
        cells = []
        for m in (0, 1):
            d = paired_difference([r[1][name][m] for r in rows], [r[1]["prediction"][m] for r in rows])
            cells.append(paired_text(d))
        print(f"| {name} | {np.mean([r[1][name][0] for r in rows]):.3f} | "
              f"{np.mean([r[1][name][1] for r in rows]):.3f} | {cells[0]} | {cells[1]} |")
    pred_bands, true_bands = np.mean([r[2] for r in rows], 0), np.mean([r[3] for r in rows], 0)
    print("\n| 1/3-octave band (Hz) | prediction | true spectrogram |\n|---|---|---|")
    for f, a, b in zip(CF, pred_bands, true_bands):
        print(f"| {f:.0f} | {a:.3f} | {b:.3f} |")
    lags = range(-5, 6)
    by_lag = np.mean([lagged_correlations(pred, item["aud"], lags) for _, item, pred in jobs], 0)
    print("\n| lag of the predicted loudness (ms) | " + " | ".join(f"{lag * SPEC_FRAME_S * 1000:+.0f}" for lag in lags)
          + " |\n|---|" + "---|" * len(lags) + "\n| correlation with the true loudness | "
          + " | ".join(f"{c:.3f}" for c in by_lag) + " |")


if __name__ == "__main__":
    main()
