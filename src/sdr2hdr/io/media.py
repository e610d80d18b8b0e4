"""One probe for any video file, SDR or HDR: streams, colour tags, frame count and HDR10 metadata where present.

Every part of the package that opens a video goes through `open_container`, so unreadable input always ends in
one InputError with a one-line reason. Refusing HDR is the SDR converter's business (`check_sdr`), not the probe's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from sdr2hdr.errors import InputError
from sdr2hdr.io.hdr10 import hdr10_from_side_data

# H.273 code points as FFmpeg numbers them.
MATRIX_NAMES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}
TRC_NAMES = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 8: "linear", 13: "srgb", 14: "bt2020-10",
             15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
PRIMARY_NAMES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "smpte431", 12: "smpte432"}
HDR_TRANSFERS = {16: "PQ (SMPTE ST 2084)", 18: "HLG (ARIB STD-B67)"}
TRC_PQ = 16


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a file, as `sdr2hdr info` lists it."""

    index: int
    type: str
    codec: str
    profile: str | None = None
    language: str | None = None
    sample_rate: int | None = None  # audio
    channels: int | None = None  # audio
    width: int | None = None  # video
    height: int | None = None  # video


@dataclass
class VideoInfo:
    """What a converter or a reader needs to know about a file's first video stream before decoding it."""

    path: Path
    index: int  # of the video stream in the file
    width: int
    height: int
    codec: str
    pix_fmt: str
    rate: Fraction | None
    time_base: Fraction
    frames: int | None  # declared by the container, None when it does not say
    duration_s: float | None  # the file's
    matrix: str  # the Y'CbCr matrix to decode with (untagged: bt709)
    full_range: bool
    tags: dict  # primaries, transfer, matrix, range by name ("unspecified" where untagged)
    copy_streams: list = field(default_factory=list)  # (index, type, codec) of audio/subtitle streams
    cicp: tuple[int, int, int, int] = (2, 2, 2, 0)  # H.273 primaries, transfer, matrix and range as coded
    hdr: str | None = None  # the HDR transfer by name (HDR_TRANSFERS), None for SDR
    stream_duration_s: float | None = None  # the video stream's own, from its header
    container: str = ""  # the container format's long name
    size_bytes: int = 0
    streams: list[StreamInfo] = field(default_factory=list)
    hdr10: dict = field(default_factory=dict)  # read_hdr10_metadata's answer; probed for HDR transfers only


def file_url(path: str | os.PathLike) -> str:
    """The URL FFmpeg opens ``path`` by: "file:" so that a name such as pipe:0.mp4 is a file, never a protocol."""
    return "file:" + os.fspath(path)


def error_reason(exc: Exception) -> str:
    """The short reason of an FFmpeg or OS error, for a one-line message."""
    return getattr(exc, "strerror", None) or str(exc)


def open_container(path: str | os.PathLike) -> av.container.InputContainer:
    """Open a media file for reading; InputError (one line) for a missing, empty or unreadable one."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"the file is empty: {path}")
    try:
        return av.open(file_url(path), "r")
    except av.error.EOFError:
        raise InputError(f"the file has no frames (it ends before the first one): {path}") from None
    except av.error.FFmpegError as exc:
        raise InputError(f"not a video or image file, or unreadable: {path} ({error_reason(exc)})") from None


def video_streams(container: av.container.InputContainer) -> list:
    """Video streams that hold a moving picture: cover art (an attached picture) is not one."""
    return [s for s in container.streams.video if s.codec_context is not None
            and not s.disposition & av.stream.Disposition.attached_pic]


def probe(path: str | os.PathLike) -> VideoInfo:
    """Inspect a video file, SDR or HDR; InputError for anything that is not a readable video."""
    with open_container(path) as container:
        info = probe_container(Path(path), container)
    if info.hdr is not None:
        info.hdr10 = read_hdr10_metadata(path)
    return info


def check_sdr(info: VideoInfo) -> VideoInfo:
    """``info`` itself when the video is SDR; InputError when it is already HDR (nothing for an SDR converter)."""
    if info.hdr is not None:
        raise InputError(f"input is already HDR ({info.hdr} transfer): {info.path}")
    return info


def probe_container(path: Path, container: av.container.InputContainer) -> VideoInfo:
    """`probe` on a container the caller has open (without the HDR10 metadata, which needs a decoded frame)."""
    videos = video_streams(container)
    if not videos:
        raise InputError(f"no video stream in {path} (cover art is not a video); give a video file")
    vs = videos[0]
    cc = vs.codec_context
    if cc.width <= 0 or cc.height <= 0:
        raise InputError(f"video stream has no picture size (corrupt or empty stream): {path}")
    cicp = (int(cc.color_primaries or 2), int(cc.color_trc or 2), int(cc.colorspace or 2), int(cc.color_range or 0))
    pix = cc.format.name if cc.format is not None else "unknown"
    tags = {"primaries": PRIMARY_NAMES.get(cicp[0], "unspecified"), "transfer": TRC_NAMES.get(cicp[1], "unspecified"),
            "matrix": MATRIX_NAMES.get(cicp[2], "unspecified"),
            "range": {1: "limited", 2: "full"}.get(cicp[3], "unspecified")}
    copies = [(s.index, s.type, s.codec_context.name if s.codec_context else "?")
              for s in container.streams if s.type in ("audio", "subtitle")]
    return VideoInfo(path=path, index=vs.index, width=cc.width, height=cc.height, codec=cc.name, pix_fmt=pix,
                     rate=vs.average_rate or vs.guessed_rate, time_base=vs.time_base, frames=vs.frames or None,
                     duration_s=float(container.duration / av.time_base) if container.duration else None,
                     matrix=MATRIX_NAMES.get(cicp[2], "bt709"), full_range=cicp[3] == 2 or pix.startswith("yuvj"),
                     tags=tags, copy_streams=copies, cicp=cicp, hdr=HDR_TRANSFERS.get(cicp[1]),
                     stream_duration_s=float(vs.duration * vs.time_base) if vs.duration and vs.time_base else None,
                     container=container.format.long_name, size_bytes=path.stat().st_size,
                     streams=[_stream_info(s) for s in container.streams])


def _stream_info(s: av.stream.Stream) -> StreamInfo:
    cc = s.codec_context
    if cc is None:
        return StreamInfo(index=s.index, type=s.type, codec="?", language=s.language)
    audio, video = s.type == "audio", s.type == "video"
    return StreamInfo(index=s.index, type=s.type, codec=cc.name, profile=cc.profile, language=s.language,
                      sample_rate=cc.sample_rate if audio else None, channels=cc.channels if audio else None,
                      width=cc.width if video else None, height=cc.height if video else None)


def estimate_frames(info: VideoInfo) -> int | None:
    """Declared frame count, or duration x rate when the container does not declare one."""
    if info.frames:
        return info.frames
    if info.duration_s and info.rate:
        return max(1, round(info.duration_s * float(info.rate)))
    return None


def first_frame(path: str | os.PathLike) -> av.VideoFrame | None:
    """The first decoded frame of a file's first video stream; None when it has none or cannot decode one."""
    with open_container(path) as container:
        videos = video_streams(container)
        if not videos:
            return None
        try:
            return next(container.decode(videos[0]), None)
        except av.error.FFmpegError:
            return None


def read_hdr10_metadata(path: str | os.PathLike) -> dict:
    """Mastering display and content light level of a file, parsed from the first decoded frame's side data.

    Returns {"mastering_display": {"red": (x, y), "green", "blue", "white_point", "min_luminance",
    "max_luminance"}, "content_light_level": {"max_cll": int, "max_fall": int}}, each key only when present.
    """
    frame = first_frame(path)
    return {} if frame is None else hdr10_from_side_data(frame.side_data)
