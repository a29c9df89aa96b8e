"""Adapt a trained whole-utterance model (gu2s; a run folder or a shipped model such as grid-s1) to a new
speaker from a minute or two of their own video with its sound.

The clips are prepared (as `prepare` does, at the base model's audio rate) into RUN/features under one speaker
name; clips whose file stem is a GRID sentence name (`bbaf2n`) keep the word (CTC) objective, others train on
the spectrogram alone. Then `train_system` fine-tunes the base model's weights (TrainConfig.init_from; an
ensemble's members jointly, through its averaged output) with configs/adapt.yaml: a 20% validation hold-out (at
least one clip) picks the best epoch, nothing is held out for testing. The run folder is an ordinary one
(`speak`, `evaluate`, `load_run`) and re-running resumes it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import Lip2SpeechError
from .base_model import base_checkpoint
from .run_folder import read_split

MIN_CLIPS = 3  # fewer usable clips cannot be split into training and validation sensibly
ADAPT_CONFIG = "adapt"  # configs/adapt.yaml


@dataclass
class AdaptReport:
    """What `adapt` did: the run folder, the clips used, the ones skipped (one line each) and what it cost."""

    run: Path
    clips: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    train: int = 0
    val: int = 0
    epochs: int = 0
    seconds: float = 0.0
    prepare_seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process (the preparation's worker processes not counted)
    reused: bool = False  # the run folder was adapted already: its cost is that of the call that adapted it

    def summary(self) -> str:
        return (f"adapted on {len(self.clips)} clip(s) ({self.train} train, {self.val} validation), "
                f"{self.epochs} epoch(s), {self.seconds:.0f} s wall ({self.prepare_seconds:.0f} s preparing), "
                f"{self.cpu_seconds:.0f} s CPU"
                + (f"; {len(self.skipped)} skipped" if self.skipped else "")
                + (" (adapted before, reused)" if self.reused else "") + f" -> {self.run}")


# ---- clips -> features --------------------------------------------------------------------------------


def clip_utterances(videos: Sequence[Path], speaker: str) -> list[Any]:
    """One Utterance per video (its own audio track), keyed `speaker/<stem>` (a repeated stem gets -2, -3, ...);
    the words of a GRID sentence name, else none."""
    from ..corpus.grammar import sentence_from_name
    from ..corpus.records import Utterance

    out, seen = [], set()
    for v in videos:
        uid, n = v.stem, 1
        while uid in seen:
            n += 1
            uid = f"{v.stem}-{n}"
        seen.add(uid)
        try:
            words = sentence_from_name(v.stem)
        except Lip2SpeechError:
            words = ()
        out.append(Utterance(speaker, uid, tuple(words), None, v, None, None))
    return out


def _check_speaker(speaker: str) -> None:
    if not speaker or "/" in speaker or speaker.startswith(".") or speaker != speaker.strip():
        raise Lip2SpeechError(f"--speaker must be a plain name (no '/', no leading '.'), got {speaker!r}")


def base_mouth_width(base: str | Path) -> float | None:
    """The mouth width (px) the base model's lips were made at (grid-s1: 73), or None (video px)."""
    import yaml

    from ..lips.framing import model_mouth_width
    from .shipped import resolve_run

    folder = resolve_run(base)
    cfg = folder / "config.yaml"
    return model_mouth_width(folder, yaml.safe_load(cfg.read_text()) if cfg.is_file() else None)


def prepare_clips(videos: Sequence[str | Path], features: Path, fs: int, speaker: str, jobs: int = 1,
                  show_progress: bool = True, mouth_width: float | None = None, *,
                  face_size: int) -> tuple[list[str], list[str]]:
    """Prepare the videos (files or folders of them) into `features` at `mouth_width` px (the base model's mouth
    scale; None: video px) with face crops of `face_size` px (the base model's), items already there kept (resume);
    returns (keys prepared, one line per skipped clip)."""
    from ..data.features import PrepareReport, check_folder_faces, check_folder_width, prepare_utterances
    from ..data.store import FeatureStore
    from ..lips.track import collect_videos

    _check_speaker(speaker)
    utts = clip_utterances([v for v in collect_videos(videos) if v.suffix.lower() != ".npz"], speaker)
    store = FeatureStore.create(features, fs)
    # the adapted model then speaks at the base model's scale; a resumed folder must be at it already
    check_folder_width(features, mouth_width, next((features / "items").rglob("*.npz"), None) is not None)
    check_folder_faces(features, face_size)
    report = PrepareReport(out=features)
    entries = prepare_utterances(store, utts, report, jobs, show_progress, mouth_width, desc="prepare clips",
                                 face_size=face_size)
    store.write_manifest([entries[k] for k in sorted(entries)])
    return sorted(entries), report.failures


def link_items(source: str | Path, keys: Sequence[str], features: Path) -> list[str]:
    """Put already prepared items `keys` of the features folder `source` into `features` (hard links, or copies
    across file systems) with their manifest entries; returns the keys."""
    from ..data.store import FeatureStore, item_path

    src = FeatureStore(source)
    missing = [k for k in keys if k not in src.manifest]
    if missing:
        raise Lip2SpeechError(f"{len(missing)} key(s) are not prepared there (e.g. {missing[0]})", source)
    FeatureStore.create(features, src.fs)
    for k in keys:
        dst = item_path(features, k)
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(item_path(source, k), dst)
        except OSError:
            shutil.copy2(item_path(source, k), dst)
    FeatureStore(features).write_manifest([src.manifest[k] for k in sorted(keys)])
    return sorted(keys)


# ---- the adaptation ------------------------------------------------------------------------------------


def adapt_config(base: str | Path, overrides: Mapping[str, Any] | None = None, config: str | None = None) -> Any:
    """The TrainConfig of an adaptation: configs/adapt.yaml (or `config`), the base model's sizes, init_from."""
    from .shipped import is_shipped
    from .train_config import load_train_config

    folder, ckpt = base_checkpoint(base)
    model = {k: v for k, v in ckpt["lip2speech"]["model_kwargs"].items() if k not in ("height", "width")}
    source = str(base) if is_shipped(base) else str(folder.resolve())
    over = {"model": model, **dict(overrides or {}), "system": ckpt["lip2speech"]["system"], "init_from": source}
    return load_train_config(config or ADAPT_CONFIG, over)


def adapt(base: str | Path, out: str | Path, videos: Sequence[str | Path] = (), speaker: str = "new",
          features: str | Path | None = None, keys: Sequence[str] = (), overrides: Mapping[str, Any] | None = None,
          config: str | None = None, jobs: int = 1, show_progress: bool = True,
          log: Callable[[str], None] = print) -> AdaptReport:
    """Fine-tune `base` on a new speaker's clips into the run folder `out` (re-running resumes it).

    The clips are `videos` (files or folders; prepared into out/features as speaker `speaker`) or `keys` of the
    prepared features folder `features` (linked into out/features, their speakers kept). Fewer than MIN_CLIPS
    usable clips is a one-line error and leaves nothing behind that this call made."""
    from ..fileio import check_writable, write_json
    from ..data.lip_inputs import model_face_size
    from ..data.store import FeatureStore
    from .train import train_system

    t0, cpu0 = time.perf_counter(), time.process_time()
    out = Path(out)
    check_writable(out, folder=True)
    cfg = adapt_config(base, overrides, config)  # checks the base model before anything is written
    base_meta = base_checkpoint(base)[1]["lip2speech"]
    fs = int(base_meta["feature_config"]["fs"])
    if bool(videos) == (features is not None):
        raise Lip2SpeechError("adapt takes either videos or a features folder with keys")
    existed, feat = out.exists(), out / "features"
    feat_existed = feat.exists()
    report = AdaptReport(run=out)
    try:
        if features is not None:
            if FeatureStore(features).fs != fs:
                raise Lip2SpeechError(f"prepared at {FeatureStore(features).fs} Hz, the model at {fs} Hz", features)
            report.clips = link_items(features, list(keys), feat)
        else:
            report.clips, report.skipped = prepare_clips(videos, feat, fs, speaker, jobs, show_progress,
                                                         base_mouth_width(base),
                                                         face_size=model_face_size(base_meta.get("model_kwargs", {})))
        if len(report.clips) < MIN_CLIPS:
            why = f" ({len(report.skipped)} skipped: {report.skipped[0]}{' ...' if len(report.skipped) > 1 else ''})" \
                if report.skipped else ""
            raise Lip2SpeechError(f"{len(report.clips)} usable clip(s); adapting needs at least {MIN_CLIPS}{why}")
    except BaseException:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        elif not feat_existed:
            shutil.rmtree(feat, ignore_errors=True)
        raise
    report.prepare_seconds = time.perf_counter() - t0
    for line in report.skipped:
        log(f"skipped: {line}")
    log(f"{len(report.clips)} clip(s) ready in {report.prepare_seconds:.1f} s; fine-tuning {cfg.init_from} "
        f"({cfg.max_epochs} epochs, lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.threads} thread(s))")
    import json

    from .run_folder import is_finished

    done = is_finished(out) and (out / "adapt.json").is_file()
    train_system(cfg, feat, out, resume=True, show_progress=show_progress)
    if done:  # adapted before: reused as it is, with what it cost then
        info = json.loads((out / "adapt.json").read_text())
        report.train, report.val, report.epochs = len(info["train"]), len(info["val"]), int(info["epochs"])
        report.seconds, report.cpu_seconds = float(info["seconds"]), float(info.get("cpu_seconds", 0.0))
        report.prepare_seconds, report.reused = float(info.get("prepare_seconds", 0.0)), True
        return report
    split = read_split(out)
    summary = json.loads((out / "summary.json").read_text())
    report.train, report.val = len(split["train"]), len(split["val"])
    report.epochs = int(summary.get("epochs", 0))
    report.seconds, report.cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    write_json(out / "adapt.json", {"base": cfg.init_from, "clips": report.clips, "skipped": report.skipped,
                                    "train": split["train"], "val": split["val"], "epochs": report.epochs,
                                    "seconds": report.seconds, "cpu_seconds": report.cpu_seconds,
                                    "threads": cfg.threads, "prepare_seconds": report.prepare_seconds,
                                    "train_seconds": summary.get("seconds_this_session")})
    return report
