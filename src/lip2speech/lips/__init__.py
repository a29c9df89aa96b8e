"""The lip front end: a video's landmarks, mouth boxes, Gabor pictures and features and face crops, as one
LipTrack (track.py; its .lips.npz file), from the pure Gabor functions of gabor.py."""

from .gabor import gabor_features, gabor_picture, mouth_box
from .track import LipTrack, extract_folder, extract_lips, render_preview

__all__ = ["LipTrack", "extract_folder", "extract_lips", "gabor_features", "gabor_picture", "mouth_box",
           "render_preview"]
