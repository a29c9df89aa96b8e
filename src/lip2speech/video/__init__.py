"""Video I/O and face landmark tracking."""

from .io import Video, read_video, video_info, write_video

__all__ = ["Video", "read_video", "video_info", "write_video"]
