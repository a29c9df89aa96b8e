"""extract_lips: landmarks, mouth boxes, Gabor pictures/features and face crops of a video, as one LipTrack."""

from __future__ import annotations

import functools
import json
import os
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from ..errors import Lip2SpeechError
from ..fileio import save_npz
from .gabor import (
    FACE_SIZE,
    GF_NAMES,
    GP_SIZE,
    box_from_geometry,
    face_crop,
    gabor_features,
    gabor_picture_in,
    jpeg_round_trip,
    mouth_geometry,
    resize_gp,
)
from ..parallel import JobReport, default_jobs, run_jobs
from ..timebase import MIN_VIDEO_S
from ..video.io import Video, read_video, write_video
from ..video.landmarks import LandmarkTracker, interpolate_invalid, to_grey

FORMAT = "lip2speech.lips/1"
TRACK_SUFFIX = ".npz"  # a `lip2speech lips` file: stands for its video where lips are read
VIDEO_SUFFIXES = (".mpg", ".mpeg", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass
class LipTrack:
    """Lip front-end output of one video; frames without a face are interpolated and have valid False.

    landmarks (T, 68, 2) float32 px · mouth_boxes (T, 4) int32 (x0, y0, x1, y1) px, end-exclusive ·
    gp (T, 40, 80) float32 Gabor pictures · gf (T, 7) float32 Gabor features in GF_NAMES order ·
    faces (T, S, S) uint8 grey face crops · valid (T,) bool · fps float (frames/s) · settings: the front-end
    options it was made with (extract_lips' keywords; empty for files written before they were recorded).
    """

    landmarks: np.ndarray
    mouth_boxes: np.ndarray
    gp: np.ndarray
    gf: np.ndarray
    faces: np.ndarray
    valid: np.ndarray
    fps: float
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.valid)

    def save(self, path: str | Path) -> None:
        """Write as one compressed .npz, atomically."""
        save_npz(path, format=np.array(FORMAT), gf_names=np.array(GF_NAMES), fps=np.float64(self.fps),
                 settings=np.array(json.dumps(self.settings, sort_keys=True)),
                 **{f.name: getattr(self, f.name) for f in fields(self) if f.name not in _SCALARS})

    @classmethod
    def load(cls, path: str | Path) -> "LipTrack":
        """Read a .npz written by `save`; a missing, corrupt or foreign file raises Lip2SpeechError."""
        path = Path(path)
        if not path.is_file():
            raise Lip2SpeechError("lips file not found", path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise Lip2SpeechError(f"not a readable .npz file ({type(exc).__name__})", path) from None
        if "format" not in data or str(data["format"]) != FORMAT:
            raise Lip2SpeechError(f"not a lip2speech lips file (expected format {FORMAT})", path)
        names = [f.name for f in fields(cls) if f.name not in _SCALARS]
        missing = [n for n in names + ["fps"] if n not in data]
        if missing:
            raise Lip2SpeechError(f"lips file lacks {', '.join(missing)}", path)
        settings = json.loads(str(data["settings"])) if "settings" in data else {}
        track = cls(**{n: data[n] for n in names}, fps=float(data["fps"]), settings=settings)
        n = len(track.valid)
        if any(len(getattr(track, k)) != n for k in names):
            raise Lip2SpeechError("lips file arrays disagree in frame count", path)
        return track


_SCALARS = ("fps", "settings")  # LipTrack fields that are not per-frame arrays


def extract_lips(
    video: Video | str | Path,
    *,
    legacy: bool = False,
    face_size: int = FACE_SIZE,
    detect_every: int = 10,
    smooth: float = 0.5,
    box_smooth: int = 9,
    centre_smooth: int = 3,
    mouth_width: float | None = None,
    min_frames: int = 2,
    min_seconds: float = MIN_VIDEO_S,
    max_gib: float = 8.0,
    tracker: LandmarkTracker | None = None,
) -> LipTrack:
    """Track the face and compute the lip front end of every frame of a video (path or decoded Video).

    `legacy=True` reproduces the published JPEG round trip and region choice in GP and GF; `mouth_width`
    (px, GRID ~75) rescales the mouth so that footage of any size gives GF on GRID's scale (see lip_track).
    All grey frames are held in memory: a file needing more than `max_gib` GiB is refused. A video under
    `min_seconds` s, or a file that decodes to far fewer frames than its container claims, is refused.
    """
    source = video if isinstance(video, (str, Path)) else None
    claimed = 0
    if source is not None:
        claimed = _check_memory(Path(source), max_gib)
        video = read_video(source, grey=True)
    frames, fps = video.frames, float(video.fps)
    n = len(frames)
    if n < min_frames:
        raise Lip2SpeechError(
            f"video has only {n} frame{'s' if n != 1 else ''}; lip features need at least {min_frames}", source
        )
    if claimed and n < 0.9 * claimed - 1:
        raise Lip2SpeechError(f"video is truncated or damaged: {n} frames decode of the {claimed} its container "
                              "claims", source)
    if n / fps < min_seconds:
        raise Lip2SpeechError(f"video is {n / fps:.2f} s long ({n} frames); speech from lips needs at least "
                              f"{min_seconds:g} s", source)
    tracker = tracker or LandmarkTracker(detect_every=detect_every, smooth=smooth)
    lm = tracker.track(frames)
    if not lm.valid.any():
        raise Lip2SpeechError(f"no face found in any frame ({n} frames)", source)
    track = lip_track(frames, lm.points, lm.valid, fps, legacy=legacy, face_size=face_size, box_smooth=box_smooth,
                      centre_smooth=centre_smooth, mouth_width=mouth_width, source=source)
    track.settings.update(detect_every=detect_every, smooth=smooth)
    return track


def default_lip_settings() -> dict:
    """The settings a LipTrack records when made by extract_lips with its defaults (what prepare and speak use)."""
    import inspect

    params = inspect.signature(extract_lips).parameters
    return {k: params[k].default for k in ("legacy", "face_size", "box_smooth", "centre_smooth", "mouth_width",
                                           "detect_every", "smooth")}


def load_track_for(path: str | Path, mouth_width: float | None = None, face_size: int = FACE_SIZE) -> LipTrack:
    """A `lip2speech lips` file to use in place of extracting the video again: it must have been made with the
    default front end at `mouth_width` (px; None: video px, what prepare and a published model use) and face crops
    of `face_size` px, else a one-line error naming the options that differ."""
    from .framing import same_width

    track = LipTrack.load(path)
    want = {**default_lip_settings(), "mouth_width": mouth_width, "face_size": face_size}
    if not track.settings:
        raise Lip2SpeechError("lips file does not record its front-end options (written by an older lip2speech); "
                              "extract it again", path)
    diff = sorted(k for k in want if (not same_width(track.settings.get(k), want[k]) if k == "mouth_width"
                                      else track.settings.get(k) != want[k]))
    if diff:
        scale = "video px" if mouth_width is None else f"--mouth-width {mouth_width:g}"
        if face_size != FACE_SIZE:
            scale += f", --face-size {face_size}"
        raise Lip2SpeechError("lips file was made with other front-end options ("
                              + ", ".join(f"{k}={track.settings.get(k)!r}" for k in diff)
                              + f"); this needs the defaults at {scale}", path)
    return track


def _check_memory(path: Path, max_gib: float) -> int:
    """Refuse, with a clear message, a video whose decoded grey frames would not fit in `max_gib` GiB; returns
    the frame count its container claims."""
    from ..video.io import video_info

    info = video_info(path)
    need = info.n_frames * info.width * info.height / 2**30
    if need > max_gib:
        raise Lip2SpeechError(
            f"video too long to extract in memory ({info.n_frames} frames of {info.width}x{info.height} = "
            f"{need:.1f} GiB > {max_gib:g} GiB): cut it into shorter pieces", path)
    return int(info.n_frames)


def lip_track(
    frames: np.ndarray,
    landmarks: np.ndarray,
    valid: np.ndarray,
    fps: float,
    *,
    legacy: bool = False,
    face_size: int = FACE_SIZE,
    box_smooth: int = 9,
    centre_smooth: int = 3,
    mouth_width: float | None = None,
    source: str | Path | None = None,
) -> LipTrack:
    """Mouth boxes, GP, GF and face crops of frames (T, H, W[, 3]) uint8 given their landmarks (T, 68, 2) px.

    Mouth boxes and centres are smoothed over `box_smooth` / `centre_smooth` frames (in face coordinates);
    `legacy=True` uses the published per-frame boxes, border-reflected GP, JPEG round trip and region test.
    GP and GF are computed in video px, or, with `mouth_width`, on the video resampled (one factor per video)
    so that the median mouth box is `mouth_width` px wide: GF of any footage then match GRID's scale (~75).
    """
    n = len(frames)
    landmarks = np.asarray(landmarks, np.float32)
    geom = mouth_geometry(landmarks, *((0, 0) if legacy else (box_smooth, centre_smooth)))
    boxes = box_from_geometry(geom, frames.shape[1:3])
    scale = 1.0
    if mouth_width is not None:
        scale = float(mouth_width) / max(float(np.median((geom[:, 2] - geom[:, 0])[np.asarray(valid, bool)])), 1.0)
    if scale != 1.0:
        geom_s = geom * scale
        h, w = frames.shape[1:3]
        boxes_s = box_from_geometry(geom_s, (int(h * scale), int(w * scale)))
    else:
        geom_s, boxes_s = geom, boxes
    # Centre relative to the integer box; centroids are reported relative to the (sub-pixel) box edge.
    centres = geom_s[:, 4:] - boxes_s[:, :2]
    edge_offset = boxes_s[:, :2] - geom_s[:, :2]
    gp = np.zeros((n, GP_SIZE[1], GP_SIZE[0]), np.float32)
    gf = np.full((n, len(GF_NAMES)), np.nan, np.float32)
    faces = np.zeros((n, face_size, face_size), np.uint8)
    for t in np.flatnonzero(valid):
        grey = to_grey(frames[t])
        picture = gabor_picture_in(grey, boxes_s[t], context=not legacy, scale=scale)
        gf[t] = gabor_features(picture, centres[t], legacy=legacy)
        if legacy:
            picture = jpeg_round_trip(picture).astype(np.float32)
        else:
            gf[t, 3:5] += edge_offset[t]
        gp[t] = resize_gp(picture)
        faces[t] = face_crop(grey, landmarks[t], face_size)
    # A frame is valid when it has a face and a thresholded lip region; the rest are interpolated.
    valid = np.asarray(valid, bool) & np.isfinite(gf).all(1)
    if not valid.any():
        raise Lip2SpeechError("no lip region found in any frame (face found, Gabor threshold empty)", source)
    return LipTrack(
        landmarks=landmarks,
        mouth_boxes=boxes,
        gp=interpolate_invalid(gp, valid),
        gf=interpolate_invalid(gf, valid),
        faces=interpolate_invalid(faces, valid),
        valid=valid,
        fps=float(fps),
        settings={"legacy": legacy, "face_size": face_size, "box_smooth": box_smooth, "centre_smooth": centre_smooth,
                  "mouth_width": mouth_width},
    )


def collect_videos(inputs: Sequence[str | Path]) -> list[Path]:
    """Video (or lips .npz) files given directly or found (sorted) in given folders; one-line error when there are
    none."""
    out: list[Path] = []
    for p in map(Path, inputs):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in (*VIDEO_SUFFIXES, TRACK_SUFFIX))
        elif p.is_file():
            out.append(p)
        else:
            raise Lip2SpeechError("video not found", p)
    if not out:
        raise Lip2SpeechError("no videos found in " + ", ".join(map(str, inputs)))
    return out


def find_videos(folder: str | Path) -> list[Path]:
    """Video files (by suffix) under `folder`, recursively, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Lip2SpeechError("not a folder", folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _extract_one(item: tuple[Path, Path], overwrite: bool, kwargs: dict) -> Path:
    src, dst = item
    if dst.exists() and not overwrite:
        return dst
    try:
        extract_lips(src, **kwargs).save(dst)
    except Lip2SpeechError:
        raise
    except Exception as exc:  # noqa: BLE001 - name the video whatever went wrong
        raise Lip2SpeechError(f"lip extraction failed ({type(exc).__name__}: {exc})", src) from None
    return dst


def extract_folder(
    videos: str | Path | Sequence[str | Path] | Iterable[str | Path],
    out_dir: str | Path,
    jobs: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    root: str | Path | None = None,
    **kwargs,
) -> JobReport:
    """Extract every video (a folder, searched recursively, or a list) to out_dir/<path below the folder, or
    below the list's common parent>.npz on `jobs` processes (default: all cores); a bad video is reported
    in the JobReport's failures and skipped. Existing outputs are kept unless `overwrite` (resumable)."""
    if isinstance(videos, (str, Path)):
        root = Path(videos)
        paths = find_videos(root)
    else:
        paths = [Path(p) for p in videos]
        if root is None and paths:
            # GRID names repeat across speakers: keep the folders below the videos' common parent.
            root = Path(os.path.commonpath([p.absolute().parent for p in paths]))
            paths = [p.absolute() for p in paths]
    out_dir = Path(out_dir)
    items = []
    for p in paths:
        rel = p.relative_to(root) if root is not None and p.is_relative_to(root) else Path(p.name)
        items.append((p, out_dir / rel.with_suffix(".npz")))
    fn = functools.partial(_extract_one, overwrite=overwrite, kwargs=kwargs)
    # One process per core, no threads inside OpenCV. Set it here, before the workers are forked: calling
    # cv2.setNumThreads in a forked child whose parent already used OpenCV's thread pool deadlocks.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return run_jobs(fn, items, jobs=jobs or default_jobs(), desc="lips", show_progress=show_progress)
    finally:
        cv2.setNumThreads(threads)


def render_preview(video: Video | str | Path, track: LipTrack, path: str | Path, height: int = 360) -> None:
    """Write an MP4 showing, per frame, the video with landmarks and mouth box, the GP image and the seven GF
    as curves over time with a cursor (red: frames without a face, filled by interpolation)."""
    frames = (read_video(video) if isinstance(video, (str, Path)) else video).frames
    n = min(len(frames), len(track))
    h, w = frames.shape[1:3]
    s = height / h
    fw = int(round(w * s)) // 2 * 2
    gp_w, gp_h = 320, 160
    row = (height - gp_h) // len(GF_NAMES)
    pw = gp_w
    # Feature curves are drawn once; each frame adds a cursor and the current values.
    curves = np.full((height - gp_h, pw, 3), 24, np.uint8)
    xs = np.linspace(4, pw - 4, max(n, 2))[:n]
    for t in np.flatnonzero(~track.valid[:n]):
        cv2.line(curves, (int(xs[t]), 0), (int(xs[t]), curves.shape[0] - 1), (90, 20, 20), 1)
    for i, name in enumerate(GF_NAMES):
        v = track.gf[:n, i].astype(np.float64)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        y = (i + 1) * row - 3 - (v - lo) / (hi - lo if hi > lo else 1.0) * (row - 14)
        pts = np.stack([xs, y], 1).round().astype(np.int32)
        cv2.polylines(curves, [pts], False, (120, 200, 255), 1, cv2.LINE_AA)
        cv2.putText(curves, name, (4, i * row + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (200, 200, 200), 1, cv2.LINE_AA)
    gp_scale = float(np.percentile(track.gp, 99.5)) or 1.0
    out = np.zeros((n, height, fw + pw, 3), np.uint8)
    for t in range(n):
        img = frames[t] if frames.ndim == 4 else np.repeat(frames[t][..., None], 3, -1)
        img = cv2.resize(img, (fw, height), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        ok = bool(track.valid[t])
        colour = (0, 255, 0) if ok else (255, 60, 60)
        for x, y in track.landmarks[t] * s:
            cv2.circle(img, (int(round(x)), int(round(y))), 1, colour, -1)
        x0, y0, x1, y1 = (int(round(v * s)) for v in track.mouth_boxes[t])
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 220, 0), 1)
        cv2.putText(img, f"{t + 1}/{n}{'' if ok else '  no face'}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    colour, 1, cv2.LINE_AA)
        gp = np.clip(track.gp[t] / gp_scale * 255, 0, 255).astype(np.uint8)
        gp = cv2.cvtColor(cv2.applyColorMap(cv2.resize(gp, (gp_w, gp_h), interpolation=cv2.INTER_NEAREST),
                                            cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        panel = curves.copy()
        cv2.line(panel, (int(xs[t]), 0), (int(xs[t]), panel.shape[0] - 1), (255, 255, 255), 1)
        for i in range(len(GF_NAMES)):
            cv2.putText(panel, f"{track.gf[t, i]:.3g}", (pw - 60, i * row + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                        (255, 255, 255), 1, cv2.LINE_AA)
        out[t, :, :fw] = img
        out[t, :gp_h, fw:] = gp
        out[t, gp_h : gp_h + panel.shape[0], fw:] = panel
    write_video(path, out, track.fps)
