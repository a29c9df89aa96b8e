"""`lip2speech demo`: synthetic corpus -> features -> autoencoder + the three published systems and gu2s ->
reduced single-speaker, multi-speaker and vocabulary experiments, and an intelligibility experiment on one bigger
speaker (gu2s minus each published system in recognised words, paired per utterance) -> evaluation -> the shipped
grid-s1 model on the packaged real GRID clips (demo_real.py) -> report, in one resumable command."""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import Lip2SpeechError
from ..models.systems import SYSTEMS


@dataclass
class DemoSize:
    """How big the demo is: corpus size, training length and evaluation effort."""

    speakers: int = 3
    utterances: int = 16  # per speaker (80/20 train/test split per speaker)
    single_speakers: int = 2  # single-speaker experiment on the first n speakers
    speaker_counts: tuple[int, ...] = (1, 2, 3)  # multi-speaker experiment
    train: str = "fast"  # TrainConfig name (configs/fast*.yaml: small models)
    epochs: int | None = 5  # override max_epochs of the systems (None: the config's)
    ae_epochs: int | None = 10  # override the autoencoder's max_epochs
    invert_iters: int = 8  # spectrogram inversion iterations for the waveform metrics
    waveform_utterances: int = 3  # per run, utterances with waveform metrics (corr2 on all test utterances)
    samples: int = 1  # sample utterances per run in the report
    systems: tuple[str, ...] = SYSTEMS
    gu2s_epochs: int | None = None  # max_epochs of gu2s (None: its fast config's; `epochs` is for the others)
    real_grid: bool = True  # the shipped grid-s1 model on the real s1 clips packaged with lip2speech
    # intelligibility experiment: one more speaker with this many utterances (0: none), every system trained on
    # its 80% and every test utterance recognised, so that word accuracies can be told apart
    words_utterances: int = 100
    words_epochs: int | None = 12  # max_epochs of the published systems there (gu2s: as in the others)
    seed: int = 0

    def utterance_counts(self) -> list[int]:
        """Utterances of each synthetic speaker: `speakers` x `utterances`, then the intelligibility speaker."""
        return [self.utterances] * self.speakers + ([self.words_utterances] if self.words_utterances else [])


#: The reduced demo run by the test suite (about 2 minutes on 2 cores).
QUICK = DemoSize(speakers=2, utterances=8, single_speakers=1, speaker_counts=(1, 2), epochs=2, ae_epochs=3,
                 invert_iters=3, waveform_utterances=1, samples=1, gu2s_epochs=2, words_utterances=10,
                 words_epochs=2)


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*(does not have many workers|LeafSpec).*")


def _corpus(out: Path, size: DemoSize, jobs: int, show_progress: bool, log: Callable[[str], None]) -> None:
    """Generate the synthetic corpus unless the same one (seed, size) is already there."""
    from ..corpus.synth import synth_corpus, utterance_counts

    counts = size.utterance_counts()
    meta = out / "synth.json"
    if meta.is_file():
        done = json.loads(meta.read_text())
        n_spk = len(done.get("speakers", []))
        n_utt = len(list(out.glob("s*/video/*.mp4")))
        if (done.get("seed") == size.seed and n_spk == len(counts) and n_utt == sum(counts)
                and utterance_counts(n_spk, done.get("utterances_per_speaker", [])) == counts):
            log(f"corpus: reusing {out} ({len(counts)} speakers, {counts} utterances)")
            return
    log(f"corpus: generating {len(counts)} speakers ({counts} utterances) into {out}")
    report = synth_corpus(out, len(counts), counts, size.seed, jobs=jobs, overwrite=True,
                          show_progress=show_progress)
    if report.failures:
        log(f"corpus: {len(report.failures)} utterance(s) failed: {report.failures[0]}")


def _words_experiment(size: DemoSize, common: dict[str, Any]) -> dict[str, Any] | None:
    """run_experiment arguments of the intelligibility experiment (None when the demo has none): the single-speaker
    experiment on the last, bigger speaker, every test utterance with waveform metrics and words."""
    if not size.words_utterances:
        return None
    over = dict(common["train_overrides"])
    if size.words_epochs is not None:
        over["max_epochs"] = size.words_epochs
    evaluation = {**common["eval_overrides"], "waveform_utterances": None}
    return {**common, "speakers": [f"s{size.speakers + 1}"], "train_overrides": over,
            "eval_overrides": evaluation, "label": "intelligibility"}


def run_demo(out: str | Path = "lip2speech-demo", size: DemoSize | None = None, jobs: int | None = None,
             show_progress: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the whole pipeline on a synthetic corpus; returns {report, markdown, results, seconds, summary}."""
    from .experiment import run_experiment
    from ..data.features import prepare
    from ..parallel import default_jobs
    from .report import build_report, load_results, summary_text

    size = size or DemoSize()
    if max(size.speaker_counts) > size.speakers or size.single_speakers > size.speakers:
        raise Lip2SpeechError(f"demo needs at most {size.speakers} speakers in its experiments "
                              f"(counts {list(size.speaker_counts)}, single {size.single_speakers})")
    jobs = jobs or default_jobs()
    out = Path(out)
    t0 = time.perf_counter()
    stamp = lambda msg: log(f"[{time.perf_counter() - t0:6.0f} s] {msg}")  # noqa: E731
    _quiet_lightning()
    stamp(f"demo in {out.resolve()} ({jobs} process(es)); settings: {asdict(size)}")
    corpus, features, exp = out / "corpus", out / "features", out / "experiments"
    _corpus(corpus, size, jobs, show_progress, stamp)
    stamp(f"prepare: lip features and auditory spectrograms into {features}")
    rep = prepare(corpus, features, jobs=jobs, show_progress=show_progress)
    stamp(f"prepare: {rep.summary()}")
    for line in rep.failures[:5]:
        stamp(f"  skipped: {line}")
    train_overrides: dict[str, Any] = {}
    if size.epochs is not None:
        train_overrides["max_epochs"] = size.epochs
    if size.ae_epochs is not None:
        train_overrides["autoencoder"] = {"max_epochs": size.ae_epochs}
    if size.gu2s_epochs is not None or size.epochs is not None:  # gu2s keeps its own epoch count
        from ..training.train_config import load_train_config

        own = load_train_config(size.train, {"system": "gu2s"}).max_epochs
        train_overrides["per_system"] = {"gu2s": {"max_epochs": size.gu2s_epochs or own}}
    evaluation = {"invert_iters": size.invert_iters, "waveform_utterances": size.waveform_utterances,
                  "samples": size.samples, "jobs": jobs}
    spk = [f"s{i}" for i in range(1, size.speakers + 1)]
    common = dict(systems=size.systems, train=size.train, train_overrides=train_overrides,
                  eval_overrides=evaluation, corpus=corpus, jobs=jobs, show_progress=show_progress, log=stamp)
    # train every run first (side by side on `jobs` processes, before this process runs torch), then evaluate
    run_experiment("single", features, exp, speakers=spk[: size.single_speakers], train_only=True, **common)
    run_experiment("multi", features, exp, speakers=spk, speaker_counts=size.speaker_counts, train_only=True,
                   **common)
    # the vocabulary task trains on word segments: the published systems only (gu2s reads whole utterances)
    vocab = {**common, "systems": tuple(s for s in size.systems if s != "gu2s")}
    run_experiment("vocabulary", features, exp, speakers=spk[:1], train_only=True, **vocab)
    words = _words_experiment(size, common)
    if words:
        run_experiment("single", features, exp, train_only=True, **words)
    paths = [run_experiment("single", features, exp, speakers=spk[: size.single_speakers], **common),
             run_experiment("multi", features, exp, speakers=spk, speaker_counts=size.speaker_counts, **common),
             # per-word scores of the first speaker's runs trained on word segments
             run_experiment("vocabulary", features, exp, speakers=spk[:1], **vocab)]
    if words:
        paths.append(run_experiment("single", features, exp, **words))
    if size.real_grid:
        from .demo_real import real_grid_section

        stamp("real GRID: the shipped model speaks real s1 clips")
        real = real_grid_section(exp / "real-grid", log=stamp, n_iter=size.invert_iters)
        if real is not None:
            paths.append(real)
    stamp("report: writing HTML and Markdown")
    html_path, md_path = build_report(exp, title="lip2speech demo (synthetic corpus)")
    summary = summary_text(load_results(exp))
    seconds = time.perf_counter() - t0
    log("")
    log(summary)
    log("")
    log(f"demo finished in {seconds:.0f} s; report: {html_path.resolve()}")
    return {"report": html_path, "markdown": md_path, "results": paths, "seconds": seconds, "summary": summary}
