"""Video I/O and face landmark tracking."""

from .io import Video, read_video, video_info, write_video
from .landmarks import (
    LandmarkTracker,
    Landmarks,
    detect_faces,
    detect_landmarks,
    face_detector,
    fit_landmarks,
    interpolate_invalid,
    landmark_model_path,
    shape_predictor,
)

__all__ = [
    "Video",
    "read_video",
    "video_info",
    "write_video",
    "LandmarkTracker",
    "Landmarks",
    "detect_faces",
    "detect_landmarks",
    "face_detector",
    "fit_landmarks",
    "interpolate_invalid",
    "landmark_model_path",
    "shape_predictor",
]
