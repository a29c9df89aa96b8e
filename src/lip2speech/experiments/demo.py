"""`lip2speech demo`: the main job in one resumable command. By default (a first visit, under 10 minutes on 2
cores) the shipped grid-s1 model speaks the real GRID clips packaged with lip2speech (demo_real.py), and gu2s and
GF2S are trained from scratch on one synthetic speaker and compared utterance by utterance (recognised words,
STOI, ESTOI, corr2); `--full` is the whole synthetic study: the three published systems and gu2s in reduced
single-speaker, multi-speaker and vocabulary experiments plus an intelligibility experiment on a bigger speaker.
Every size: synthetic corpus -> features -> training -> evaluation -> real GRID -> report."""

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

    speakers: int = 1  # synthetic speakers
    utterances: int = 50  # per speaker (80/20 train/test split per speaker)
    single_speakers: int = 1  # single-speaker experiment on the first n speakers
    speaker_counts: tuple[int, ...] = (1,)  # multi-speaker experiment
    train: str = "fast"  # TrainConfig name (configs/fast*.yaml: small models)
    epochs: int | None = 12  # override max_epochs of the systems (None: the config's)
    ae_epochs: int | None = 10  # override the autoencoder's max_epochs
    invert_iters: int = 8  # spectrogram inversion iterations for the waveform metrics
    # per run, test utterances with waveform metrics and words (None: all; corr2 on all test utterances)
    waveform_utterances: int | None = None
    samples: int = 1  # sample utterances per run in the report
    systems: tuple[str, ...] = ("gf2s", "gu2s")
    experiments: tuple[str, ...] = ("single",)  # of single, multi, vocabulary
    gu2s_epochs: int | None = None  # max_epochs of gu2s (None: its fast config's; `epochs` is for the others)
    real_grid: bool = True  # the shipped grid-s1 model on the real s1 clips packaged with lip2speech
    # intelligibility experiment: one more speaker with this many utterances (0: none), every system trained on
    # its 80% and every test utterance recognised, so that word accuracies can be told apart
    words_utterances: int = 0
    words_epochs: int | None = 12  # max_epochs of the published systems there (gu2s: as in the others)
    seed: int = 0

    def utterance_counts(self) -> list[int]:
        """Utterances of each synthetic speaker: `speakers` x `utterances`, then the intelligibility speaker."""
        return [self.utterances] * self.speakers + ([self.words_utterances] if self.words_utterances else [])


#: `lip2speech demo --full`: the whole synthetic study (about 25-30 minutes on 2 cores).
FULL = DemoSize(speakers=3, utterances=16, single_speakers=2, speaker_counts=(1, 2, 3), epochs=5,
                waveform_utterances=3, systems=SYSTEMS, experiments=("single", "multi", "vocabulary"),
                words_utterances=100)
#: The reduced full study run by the test suite (about 2-3 minutes on 2 cores).
QUICK = DemoSize(speakers=2, utterances=8, single_speakers=1, speaker_counts=(1, 2), epochs=2, ae_epochs=3,
                 invert_iters=3, waveform_utterances=1, samples=1, systems=SYSTEMS,
                 experiments=("single", "multi", "vocabulary"), gu2s_epochs=2, words_utterances=10, words_epochs=2)


def with_speakers(size: DemoSize, n: int) -> DemoSize:
    """`size` on `n` synthetic speakers: the multi-speaker experiment up to n, the single-speaker one on the first
    min(single_speakers, n) (all n when the demo has no multi-speaker experiment)."""
    from dataclasses import replace

    if n < 1:
        raise Lip2SpeechError(f"the demo needs at least 1 synthetic speaker (got {n})")
    single = min(size.single_speakers, n) if "multi" in size.experiments else n
    return replace(size, speakers=n, single_speakers=single,
                   speaker_counts=tuple(c for c in size.speaker_counts if c < n) + (n,))


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


def _about(size: DemoSize) -> dict[str, Any]:
    """What the demo ran, for the report's front page (experiments/about.json)."""
    return {"title": "lip2speech demo",
            "synthetic": {"speakers": size.speakers, "utterances": size.utterance_counts(), "seed": size.seed,
                          "systems": list(size.systems), "experiments": list(size.experiments)
                          + (["intelligibility"] if size.words_utterances else [])},
            "real_grid": size.real_grid}


def run_demo(out: str | Path = "lip2speech-demo", size: DemoSize | None = None, jobs: int | None = None,
             show_progress: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo of `size` (default: DemoSize(), the first visit) into `out`; returns {report, markdown,
    results, seconds, summary}."""
    from .experiment import run_experiment
    from ..data.features import prepare
    from ..fileio import write_json
    from ..parallel import default_jobs
    from .report import build_report, load_results, summary_text

    size = size or DemoSize()
    if max(size.speaker_counts) > size.speakers or size.single_speakers > size.speakers:
        raise Lip2SpeechError(f"demo needs at most {size.speakers} speakers in its experiments "
                              f"(counts {list(size.speaker_counts)}, single {size.single_speakers})")
    unknown = set(size.experiments) - {"single", "multi", "vocabulary"}
    if unknown:
        raise Lip2SpeechError(f"unknown demo experiment(s) {sorted(unknown)} (choose single, multi, vocabulary)")
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
    # the vocabulary task trains on word segments: the published systems only (gu2s reads whole utterances)
    vocab = {**common, "systems": tuple(s for s in size.systems if s != "gu2s")}
    plan: list[tuple[str, dict[str, Any]]] = []
    if "single" in size.experiments:
        plan.append(("single", {**common, "speakers": spk[: size.single_speakers]}))
    if "multi" in size.experiments:
        plan.append(("multi", {**common, "speakers": spk, "speaker_counts": size.speaker_counts}))
    if "vocabulary" in size.experiments and vocab["systems"]:  # per-word scores of the first speaker's runs
        plan.append(("vocabulary", {**vocab, "speakers": spk[:1]}))
    words = _words_experiment(size, common)
    if words:
        plan.append(("single", words))
    # train every run first (side by side on `jobs` processes, before this process runs torch), then evaluate
    for name, kwargs in plan:
        run_experiment(name, features, exp, train_only=True, **kwargs)
    paths = [run_experiment(name, features, exp, **kwargs) for name, kwargs in plan]
    if size.real_grid:
        from .demo_real import real_grid_section

        stamp("real GRID: the shipped model speaks real s1 clips")
        real = real_grid_section(exp / "real-grid", log=stamp, n_iter=size.invert_iters)
        if real is not None:
            paths.append(real)
    stamp("report: writing HTML and Markdown")
    write_json(exp / "about.json", _about(size))
    html_path, md_path = build_report(exp, title="lip2speech demo")
    summary = summary_text(load_results(exp), synthetic=True)
    seconds = time.perf_counter() - t0
    log("")
    log(summary)
    log("")
    log(f"demo finished in {seconds:.0f} s ({seconds / 60:.1f} min). Everything it made is in {out.resolve()}: "
        f"corpus/ (the synthetic videos), features/, experiments/ (runs, evaluations, results).")
    log(f"Open the report: {html_path.resolve()}  (Markdown: {md_path.resolve()})")
    return {"report": html_path, "markdown": md_path, "results": paths, "seconds": seconds, "summary": summary}
