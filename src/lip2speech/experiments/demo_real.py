"""The demo's real-GRID section: the shipped grid-s1 model speaks the real s1 clips packaged with lip2speech
(test clips it never trained on; GRID, CC BY 4.0) and is scored against their original recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..fileio import write_json

CLIPS_DIR = Path(__file__).parents[1] / "demo_clips"  # the package's demo_clips/ folder
MODEL = "grid-s1"
ATTRIBUTION = ("GRID audio-visual corpus, speaker s1 (Cooke, Barker, Cunningham, Shao 2006, JASA 120:2421; "
               "CC BY 4.0)")


def demo_clips() -> list[Path]:
    """The packaged real GRID clips."""
    return sorted(CLIPS_DIR.glob("*.mpg")) if CLIPS_DIR.is_dir() else []


def real_grid_section(out: str | Path, log: Callable[[str], None] = print, n_iter: int | None = None
                      ) -> Path | None:
    """Speak every packaged clip with the shipped model, score it (corr2, STOI, ESTOI, PESQ, the recogniser's
    words on reconstruction and original, the words read from the lips), write out/results.json with samples
    for the report; None (with a log line) when the model or the clips are not installed."""
    from ..audio import auditory_spectrogram, load_audio
    from ..corpus.grammar import sentence_from_name
    from ..evaluation.eval_folder import write_sample
    from ..inference import load_run
    from ..evaluation.metrics import word_accuracy
    from .report import text_table
    from ..evaluation.scoring import utterance_metrics
    from ..training.shipped import shipped_models
    from ..inference.speak import reconstruct_clip

    clips = demo_clips()
    if MODEL not in shipped_models() or not clips:
        log(f"real GRID: skipped (shipped model {MODEL!r} or its demo clips not installed)")
        return None
    out = Path(out)
    rec = load_run(MODEL)
    rows, samples, table = [], [], []
    for clip in clips:
        info = reconstruct_clip(rec, clip, out / f"{clip.stem}.wav", None, n_iter)
        words = sentence_from_name(clip.stem)
        ref = np.asarray(load_audio(clip, fs=rec.fs), np.float64)
        target = auditory_spectrogram(ref, fs=rec.fs)
        pred = info["spectrogram"][np.minimum(np.arange(len(target)), len(info["spectrogram"]) - 1)]
        wave = info["wave"]
        row: dict[str, Any] = utterance_metrics(target, pred, None, words, ref, wave, rec.fs)
        row.update(key=f"s1/{clip.stem}", words=" ".join(words), hyp_lips=" ".join(info["words"]),
                   wacc_lips=word_accuracy(words, info["words"]) if info["words"] else float("nan"),
                   wav_ref=ref.astype(np.float32), wav_pred=wave)
        item = {"aud": target, "words": words, "fs": rec.fs, "video_source": str(clip)}
        path = write_sample(out / "samples", row["key"], item, row, pred, None)
        samples.append({"key": row["key"], "words": row["words"], "condition": f"shipped model {MODEL}",
                        "systems": {f"gu2s ({MODEL})": str(path.relative_to(out))}})
        rows.append({k: v for k, v in row.items() if k not in ("wav_ref", "wav_pred")})
        table.append([clip.stem, row["words"], row["hyp_lips"], row["hyp"], row["hyp_orig"],
                      f"{row['stoi']:.3f}", f"{row['corr2']:.3f}"])
    from .report_front import card_scores

    write_json(out / "results.json", {"experiment": "real-grid", "model": MODEL, "attribution": ATTRIBUTION,
                                      "rows": rows, "samples": samples, "card": card_scores({"model": MODEL})})
    log(f"real GRID: the shipped model {MODEL} on {len(clips)} real s1 clips it never trained on ({ATTRIBUTION})")
    log(text_table(["clip", "words", "read from the lips", "recogniser: reconstruction", "recogniser: original",
                    "STOI", "corr2"], table))
    return out / "results.json"
