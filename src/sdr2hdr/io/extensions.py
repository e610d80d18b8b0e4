"""The file name extensions of the media this project reads and writes, defined once (lower case, with the dot)."""

__all__ = ["IMAGE_EXTENSIONS", "SDR_IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "IMAGE_OUT_EXTENSIONS",
           "VIDEO_OUT_EXTENSIONS"]

#: still images whose format says what the pixels mean (EXR and Radiance linear light, PNG by its bit depth and cICP)
IMAGE_EXTENSIONS = frozenset({".exr", ".hdr", ".pic", ".png"})
#: still images read as 8-bit SDR R'G'B'
SDR_IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
#: videos taken as input: containers and raw HEVC streams that FFmpeg demuxes
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".ts", ".mts", ".m2ts", ".mpg",
                              ".mpeg", ".wmv", ".flv", ".3gp", ".y4m", ".mxf", ".hevc", ".265", ".h265"})
#: what a converted image is written as
IMAGE_OUT_EXTENSIONS = frozenset({".png", ".exr"})
#: what a converted video is written as: containers that carry HEVC with its HDR10 metadata, or the raw stream
VIDEO_OUT_EXTENSIONS = frozenset({".mkv", ".mp4", ".mov", ".m4v", ".ts", ".hevc", ".h265"})
