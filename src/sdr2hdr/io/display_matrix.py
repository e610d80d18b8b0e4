"""The display matrix (rotation, flip) of a video: read from a decoded frame, written into an output file by a
patch of its MP4 track header or, for Matroska, one remux."""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

import av

from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.io.media import file_url, first_frame

_IDENTITY = struct.pack("<9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)


def frame_display_matrix(frame: av.VideoFrame) -> bytes | None:
    """A decoded frame's display matrix (FFmpeg side data: 9 little-endian int32, rotation / flip), or None."""
    for sd in frame.side_data:
        if "DISPLAYMATRIX" in str(sd.type).upper():
            return bytes(sd)[:36]
    return None


def read_display_matrix(path: str | os.PathLike) -> bytes | None:
    """The display matrix of a file's first video frame (what VideoReader keeps), or None."""
    frame = first_frame(path)
    return None if frame is None else frame_display_matrix(frame)


def set_display_matrix(path: str | os.PathLike, matrix: bytes) -> bool:
    """Give the video track of a written file the input's display matrix (rotation, flip); False where the
    container has no place for one (MPEG-TS, raw HEVC).

    MP4 / MOV: the matrix of the first track's tkhd box, rewritten in place (same size). Matroska: the file is
    remuxed once, its video stream taken from a one-packet MP4 that carries the matrix, because that is the only
    way PyAV lets a stream's display matrix reach the Matroska muxer (which writes it as a projection roll).
    """
    if len(matrix) != 36 or matrix == _IDENTITY:
        return True
    ext = Path(path).suffix.lower()
    if ext in (".mp4", ".m4v", ".mov"):
        _patch_tkhd(path, matrix)
        return True
    if ext in (".mkv", ".mka", ".webm"):
        _remux_with_matrix(path, matrix)
        return True
    return False


def _patch_tkhd(path: str | os.PathLike, matrix: bytes) -> None:
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
        pos = 0
        while pos + 8 <= len(mm):  # top-level boxes: find moov, then the first track's tkhd inside it
            size, kind = struct.unpack(">I4s", mm[pos: pos + 8])
            size = struct.unpack(">Q", mm[pos + 8: pos + 16])[0] if size == 1 else (size or len(mm) - pos)
            if kind == b"moov":
                tkhd = mm.find(b"tkhd", pos, pos + size)
                version = mm[tkhd + 4]
                # after version/flags: times, track id, reserved, duration (v0: 20 bytes, v1: 32), then 16 bytes
                at = tkhd + 8 + (32 if version == 1 else 20) + 16
                mm[at: at + 36] = struct.pack(">9i", *struct.unpack("<9i", matrix))
                mm.flush()
                return
            pos += size
    raise RuntimeError(f"no moov box in {path}")


def _remux_with_matrix(path: str | os.PathLike, matrix: bytes) -> None:
    path = Path(path)
    carrier = path.with_name(f".{os.getpid()}.matrix.mp4")  # short names: path's may be near NAME_MAX
    try:
        with av.open(file_url(path)) as src:
            video = src.streams.video[0]
            with av.open(file_url(carrier), "w", format="mp4") as out:
                dst = out.add_stream_from_template(video, opaque=True)  # a copy: no encoder may open
                packet = next(p for p in src.demux(video) if p.size)
                packet.stream = dst
                out.mux(packet)
        _patch_tkhd(carrier, matrix)
        write_atomic(path, lambda remuxed: _remux_from_carrier(path, carrier, remuxed))
    finally:
        if carrier.exists():
            carrier.unlink()


def _remux_from_carrier(path: Path, carrier: Path, remuxed: str) -> None:
    """Every stream of path into remuxed, the video's header (with the display matrix) taken from carrier."""
    with av.open(file_url(path)) as src, av.open(file_url(carrier)) as car, \
            av.open(file_url(remuxed), "w", format="matroska") as out:
        streams = {s.index: out.add_stream_from_template(car.streams.video[0] if s.index == 0 else s, opaque=True)
                   for s in src.streams}
        for s in src.streams:  # templates with a codec carry no tags: language, title, flags by hand
            for key, value in s.metadata.items():
                if key.upper() not in ("DURATION", "ENCODER"):
                    streams[s.index].metadata[key] = value
            streams[s.index].disposition = int(s.disposition.value)
        for packet in src.demux():
            # Matroska stores no decoding times: a packet without dts is still a packet to keep
            if packet.size and packet.stream.index in streams:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
