"""Speech from video: decode once -> lip front end -> model -> spectrogram inversion -> WAV (and MP4), for one
clip or many with the model loaded once; reports the time of every stage."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

# The whole path's modules are imported with this one (scipy.fft, PyAV, the front end: ~1-2 s), so that their cost
# is start-up, paid once per call, not a hidden part of the first clip's time.
from ..audio import invert_auditory_spectrogram
from ..audio.files import write_wav
from ..data.features import lips_from_track
from ..errors import Lip2SpeechError
from ..fileio import check_writable
from ..lips.framing import footage_warning, resolve_mouth_width
from ..lips.track import TRACK_SUFFIX, LipTrack, collect_videos, extract_lips, load_track_for
from ..video.io import read_video, read_video_rgb_grey, write_video
from ..video.landmarks import N_LANDMARKS, detect_faces, load_face_models
from .load import load_run
from .reconstructor import Reconstructor
from .speak_inversion import SPEAK_F0, SPEAK_ITERS, SPEAK_METHOD, SPEAK_START



def invert(rec: Reconstructor, spec: np.ndarray, n_iter: int | None = None, method: str | None = None,
           start: str | None = None, f0: float | None = None) -> np.ndarray:
    """Waveform (float32, at rec.fs) of a spectrogram (N, 128) with speak's inversion; None takes its default."""
    return np.asarray(invert_auditory_spectrogram(spec, fs=rec.fs, n_iter=SPEAK_ITERS if n_iter is None else n_iter,
                                                  seed=0, method=method or SPEAK_METHOD,
                                                  init=start or SPEAK_START, f0=f0 or SPEAK_F0), np.float32)


def reconstruct_clip(rec: Reconstructor, video: str | Path, out_wav: str | Path, out_video: str | Path | None = None,
                     n_iter: int | None = None, speaker: str | None = None,
                     method: str | None = None, start: str | None = None, f0: float | None = None,
                     mouth_width: float | None | str = "model") -> dict[str, Any]:
    """Speech (WAV at the model's rate) from the lips of one video; optionally the video muxed with it (MP4).
    n_iter, method, start and f0 (Hz) choose the inversion (default: SPEAK_ITERS of SPEAK_METHOD from SPEAK_START
    at SPEAK_F0). `mouth_width` (px): the scale the lips are brought to; 'model' (default) the model's training
    scale (rec.mouth_width), None video px.
    `video` may also be a `lip2speech lips` .npz (made with the same front end and scale): no decoding or landmarks.

    Returns paths, seconds of speech, frames without a face, the words read from the lips (gu2s), the mouth width
    used (px or None) and a warning line about the footage (or None), the seconds spent per stage (decode, lips,
    model, inversion, write), the predicted spectrogram (N, 128) and the waveform before the WAV's peak
    normalisation (float32, at rec.fs)."""
    if rec.system == "autoencoder":
        raise Lip2SpeechError("this is an autoencoder run; speak needs a gf2s, gp2s, lip2audspec or gu2s run",
                              rec.run_dir)
    times: dict[str, float] = {}
    from_track = Path(video).suffix.lower() == TRACK_SUFFIX
    if from_track and out_video is not None:
        raise Lip2SpeechError("a lips file has no video frames to mux: leave out --video, or give the video", video)
    t = time.perf_counter()
    rgb, grey = (None, None) if from_track else (
        read_video_rgb_grey(video) if out_video is not None else (None, read_video(video, grey=True)))
    times["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    width = resolve_mouth_width(mouth_width, rec.mouth_width)
    if from_track:
        track = load_track_for(video, width, rec.face_size)  # its errors name the file
    else:
        try:
            track = extract_lips(grey, mouth_width=width, face_size=rec.face_size)
        except Lip2SpeechError as exc:
            raise Lip2SpeechError(str(exc), video) from None
    lips = lips_from_track(track)
    warning = footage_warning(track.landmarks, track.mouth_boxes, track.valid)
    times["lips"] = time.perf_counter() - t
    t = time.perf_counter()
    n_aud = int(math.ceil(len(track.valid) / track.fps / rec.feature_config["spec_frame_s"]))
    try:
        spec, words = rec.predict_from_lips(lips, speaker, n_aud)
    except Lip2SpeechError as exc:
        raise Lip2SpeechError(str(exc), video) from None
    times["model"] = time.perf_counter() - t
    t = time.perf_counter()
    wave = invert(rec, spec, n_iter, method, start, f0)
    times["inversion"] = time.perf_counter() - t
    t = time.perf_counter()
    out_wav = Path(out_wav)
    write_wav(out_wav, wave, rec.fs)
    if out_video is not None:
        try:
            write_video(out_video, rgb.frames, rgb.fps, audio=wave, audio_fs=rec.fs)
        except BaseException:  # a clip's outputs come as a pair or not at all
            out_wav.unlink(missing_ok=True)
            raise
    times["write"] = time.perf_counter() - t
    return {"wav": str(out_wav), "video": None if out_video is None else str(out_video),
            "seconds": len(wave) / rec.fs, "frames_without_face": int((~lips["valid"]).sum()),
            "words": words, "mouth_width": width, "warning": warning, "times": times, "spectrogram": spec, "wave": wave}


def output_paths(videos: Sequence[Path], out: Path, out_video: Path | None) -> list[tuple[Path, Path | None]]:
    """(WAV, MP4) per video: one video and `out` not a folder -> those files; else <stem>.wav / <stem>.mp4 inside
    the `out` (and `out_video`) folders."""
    if len(videos) == 1 and not out.is_dir() and out.suffix.lower() == ".wav":
        return [(out, out_video)]
    if out.suffix.lower() == ".wav":
        raise Lip2SpeechError("several videos need a folder for --out, not a .wav file", out)
    if out_video is not None and out_video.suffix.lower() == ".mp4":
        raise Lip2SpeechError("several videos need a folder for --video, not an .mp4 file", out_video)
    stems = [v.stem for v in videos]
    if len(set(stems)) != len(stems):  # same names in different folders: keep the parent in the name
        stems = [f"{v.parent.name}_{v.stem}" for v in videos]
    return [(out / f"{s}.wav", None if out_video is None else out_video / f"{s}.mp4") for s in stems]


def warm_up(rec: Reconstructor, detector: bool = True, fps: float = 25.0, frames: int = 25,
            **inversion: Any) -> None:
    """Run the model, the inversion (`invert`'s keywords) and, with `detector`, the face detector once on 1 s of
    blank input, so that their first-call costs (kernel set-up, FFT plans, allocations) are start-up, not the
    first clip."""
    blank = LipTrack(landmarks=np.zeros((frames, N_LANDMARKS, 2), np.float32),
                     mouth_boxes=np.zeros((frames, 4), np.int32), gp=np.zeros((frames, 40, 80), np.float32),
                     gf=np.random.default_rng(0).standard_normal((frames, 7)).astype(np.float32),
                     faces=np.zeros((frames, rec.face_size, rec.face_size), np.uint8), valid=np.ones(frames, bool),
                     fps=fps)
    n_aud = int(math.ceil(frames / fps / rec.feature_config["spec_frame_s"]))
    spec, _ = rec.predict_from_lips(lips_from_track(blank), None, n_aud)
    invert(rec, np.maximum(spec, 1e-3), **inversion)
    if detector:
        detect_faces(np.zeros((288, 360), np.uint8))  # a GRID frame's size (px)


def speak(run_dir: str | Path, video: str | Path, out_wav: str | Path, out_video: str | Path | None = None,
          n_iter: int | None = None, speaker: str | None = None) -> dict[str, Any]:
    """Reconstruct speech from the lips of one video with a run folder or shipped model (see reconstruct_clip)."""
    return reconstruct_clip(load_run(run_dir), video, out_wav, out_video, n_iter, speaker)


def speak_many(run: str | Path, inputs: Sequence[str | Path], out: str | Path, out_video: str | Path | None = None,
               n_iter: int | None = None, log: Callable[[str], None] = print,
               method: str | None = None, start: str | None = None, f0: float | None = None,
               mouth_width: float | None | str = "model") -> dict[str, Any]:
    """Speech for every video of `inputs` (files or folders) with the model loaded once, the lips brought to
    `mouth_width` (see reconstruct_clip); a clip that fails is reported and skipped. Returns {startup_s (model + face models + warm-up), model_s, face_models_s, warm_up_s,
    clips (each with its process CPU seconds, cpu_s), failures}."""
    videos = collect_videos(inputs)
    pairs = output_paths(videos, Path(out), None if out_video is None else Path(out_video))
    for target in {p for pair in pairs for p in pair if p is not None}:  # before any work
        check_writable(target)
    t0 = time.perf_counter()
    rec = load_run(run)
    t_model = time.perf_counter() - t0
    t1 = time.perf_counter()
    needs_faces = any(v.suffix.lower() != TRACK_SUFFIX for v in videos)  # lips files need no face models
    if needs_faces:
        load_face_models()
    t_face = time.perf_counter() - t1
    t2 = time.perf_counter()
    warm_up(rec, needs_faces, n_iter=n_iter, method=method, start=start, f0=f0)
    t_warm = time.perf_counter() - t2
    clips, failures = [], []
    for v, (wav, mp4) in zip(videos, pairs):
        c0 = time.process_time()
        try:
            info = reconstruct_clip(rec, v, wav, mp4, n_iter, method=method, start=start, f0=f0,
                                    mouth_width=mouth_width)
        except Lip2SpeechError as exc:
            failures.append(str(exc))
            log(f"failed: {exc}")
            continue
        total = sum(info["times"].values())
        extra = f", {info['frames_without_face']} frames without a face" if info["frames_without_face"] else ""
        log(f"wrote {info['wav']} ({info['seconds']:.2f} s of speech in {total:.2f} s, "
            f"{info['seconds'] / max(total, 1e-9):.1f}x real time{extra})"
            + (f" and {info['video']}" if info["video"] else ""))
        if info["warning"]:
            log(f"  {info['warning']}")
        if info["words"]:
            log(f"  words read from the lips: {' '.join(info['words'])}")
        clips.append({**info, "source": str(v), "cpu_s": time.process_time() - c0})
    return {"startup_s": t_model + t_face + t_warm, "model_s": t_model, "face_models_s": t_face, "warm_up_s": t_warm,
            "clips": clips, "failures": failures, "system": rec.system, "fs": rec.fs}
