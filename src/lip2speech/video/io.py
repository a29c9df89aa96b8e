"""Decode videos to RGB frames with their true frame rate; encode frames (+ audio) to H.264 MP4."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import atomic_path
from ..media import decode_stream, open_container


@dataclass
class Video:
    """Decoded video: frames (T, H, W, 3) uint8 RGB and frame rate in frames/s."""

    frames: np.ndarray
    fps: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.frames) / self.fps


@dataclass
class VideoInfo:
    """Container metadata read without decoding: frames, fps, duration (s), size, audio presence."""

    n_frames: int
    fps: float
    duration: float
    width: int
    height: int
    has_audio: bool


def _open(path: Path):
    container = open_container(path, "video")
    if not container.streams.video:
        container.close()
        raise Lip2SpeechError("file has no video stream", path)
    return container


def video_info(path: str | Path) -> VideoInfo:
    """Read frame count, fps, duration and size from the container header (cheap)."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        n = stream.frames or int(round(duration * fps))
        return VideoInfo(n, fps, duration, stream.codec_context.width, stream.codec_context.height,
                         bool(container.streams.audio))
    finally:
        container.close()


def _decode(path: Path, formats: tuple[str, ...]) -> tuple[list[np.ndarray], float]:
    """Decode every frame of `path` once into each of `formats` (PyAV names); returns (stacks, fps)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        frames = decode_stream(container, stream, lambda f: [f.to_ndarray(format=m) for m in formats], path, "video")
    finally:
        container.close()
    return [np.stack([f[i] for f in frames]) for i in range(len(formats))], fps


def read_video(path: str | Path, grey: bool = False) -> Video:
    """Decode every frame of `path` as RGB uint8 (or grey (T, H, W) if `grey`), with the stream's fps."""
    (frames,), fps = _decode(Path(path), ("gray" if grey else "rgb24",))
    return Video(frames, fps)


def read_video_rgb_grey(path: str | Path) -> tuple[Video, Video]:
    """Decode `path` once into RGB and grey frames (the same conversions as read_video)."""
    (rgb, grey), fps = _decode(Path(path), ("rgb24", "gray"))
    return Video(rgb, fps), Video(grey, fps)


def ffmpeg_exe() -> str:
    """The ffmpeg executable that imageio-ffmpeg ships."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None = None,
    audio_fs: int | None = None,
    crf: int = 20,
) -> None:
    """Encode frames (T, H, W, 3) or (T, H, W) uint8 as H.264 MP4 at `fps`, muxing mono `audio` (float, Hz = audio_fs)
    as AAC at listening level (audio.io.playback_level)."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise Lip2SpeechError(f"frames must be (T, H, W, 3) with T > 0, got {frames.shape}", path)
    if frames.dtype != np.uint8:
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    t, h, w, _ = frames.shape
    # yuv420p needs even sizes: pad the last row/column by replication.
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    h, w = frames.shape[1:3]
    path = Path(path)
    with atomic_path(path.with_suffix(".mp4") if path.suffix == "" else path) as tmp:
        cmd = [ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", f"{fps}", "-i", "-"]
        wav_tmp = None
        if audio is not None:
            import soundfile as sf

            from ..audio.io import playback_level

            if audio_fs is None:
                raise Lip2SpeechError("audio_fs is required with audio", path)
            wav_tmp = tmp.with_suffix(".wav")
            sf.write(str(wav_tmp), playback_level(audio), int(audio_fs), subtype="PCM_16")
            cmd += ["-i", str(wav_tmp), "-c:a", "aac", "-b:a", "96k", "-ar", str(max(int(audio_fs), 16000))]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        try:
            proc = subprocess.run(cmd, input=frames.tobytes(), capture_output=True, check=False)
        finally:
            if wav_tmp is not None and wav_tmp.exists():
                wav_tmp.unlink()
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise Lip2SpeechError(f"ffmpeg failed to encode video: {msg[-1] if msg else proc.returncode}", path)
