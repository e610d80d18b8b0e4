"""The SDR reader: demuxes a video once, yields its decoded frames (as R'G'B' on request) and the packets of the
audio and subtitle streams to copy, and refuses a truncated, corrupt or already-HDR input with one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.errors import InputError
from sdr2hdr.io.display_matrix import frame_display_matrix
from sdr2hdr.io.frames import bt2020_to_bt709_sdr, frame_to_rgb
from sdr2hdr.io.media import check_sdr, error_reason, open_container, probe_container


class VideoReader:
    """Decode the first video stream to R'G'B' frames, and hand over audio/subtitle packets for copying."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._container = open_container(self.path)
        try:
            self.info = check_sdr(probe_container(self.path, self._container))
        except BaseException:
            self._container.close()
            raise
        self.stream = self._container.streams[self.info.index]
        self.stream.thread_type = "AUTO"
        self.copy_streams = [self._container.streams[i] for i, _, _ in self.info.copy_streams]
        self.frames_decoded = 0
        self.packets_demuxed = 0
        self.last_pts = None
        self.interlaced = False
        self.display_matrix: bytes | None = None  # rotation / flip of the picture (FFmpeg display matrix)
        self.before_start = 0  # frames left out: at negative times the container could not keep (see _timed)
        self._shown: int | None = None  # the last timed frame's pts
        self._untimed = 0  # frames of a raw stream timed so far
        self._first: int | None = None  # the earliest timed frame's pts

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def items(self) -> Iterator[tuple[str, object]]:
        """Yield ("frame", av.VideoFrame) in presentation order and ("packet", av.Packet) for copied streams."""
        try:
            for packet in self._container.demux(self.stream, *self.copy_streams):
                if packet.stream is self.stream or packet.stream.index == self.stream.index:
                    self.packets_demuxed += 1 if packet.size else 0
                    for frame in packet.decode():
                        if self._timed(frame):
                            yield "frame", self._checked(frame)
                elif packet.size:
                    yield "packet", packet
        except av.error.FFmpegError as exc:
            raise InputError(f"corrupt or truncated stream in {self.path} after {self.frames_decoded} frames "
                             f"({error_reason(exc)})") from None
        self._check_complete()

    def span(self, start: int | None, end: int | None) -> Iterator[tuple[str, object]]:
        """Yield ("frame", frame) for the video frames with start <= pts < end (None: open), decoding from the
        keyframe at or before start; no packets of other streams. For the segments of engine.segments."""
        if start is not None:
            self._container.seek(start, stream=self.stream, backward=True, any_frame=False)
        first = True
        try:
            for packet in self._container.demux(self.stream):
                for frame in packet.decode():
                    if start is None and end is None and not self._timed(frame):
                        continue
                    if frame.pts is None and (start is not None or end is not None):
                        raise InputError(f"a frame without a timestamp in {self.path}; segments need timestamps")
                    if first and start is not None and frame.pts > start:
                        # the seek landed past the segment's start (an index that is off): read from the top
                        self._container.seek(self._container.start_time or 0, backward=True, any_frame=False)
                        yield from self._from_top(start, end)
                        return
                    first = False
                    if end is not None and frame.pts >= end:
                        return
                    if start is None or frame.pts >= start:
                        yield "frame", frame
        except av.error.FFmpegError as exc:
            raise InputError(f"corrupt or truncated stream in {self.path} ({error_reason(exc)})") from None

    def _from_top(self, start: int, end: int | None) -> Iterator[tuple[str, object]]:
        for frame in self._container.decode(self.stream):
            if end is not None and frame.pts is not None and frame.pts >= end:
                return
            if frame.pts is not None and frame.pts >= start:
                yield "frame", frame

    def _timed(self, frame: av.VideoFrame) -> bool:
        """Give an untimed frame its time, or say it lies before the stream's start (False: leave it out).

        A raw elementary stream (.h264, .hevc) has no timestamps at all: frame k is shown at k / rate. A stream
        that declares a start but gives the first frames none (Matroska written with negative timestamps, e.g.
        `-itsoffset -0.2 ... -avoid_negative_ts disabled`, reads back so) has those frames before its start, where
        a player does not show them. An untimed frame after a timed one is shown one frame after it.
        """
        rate = self.info.rate or Fraction(25)
        if frame.pts is not None:
            pass
        elif self._shown is not None:
            frame.pts = self._shown + max(1, round(1 / (rate * self.stream.time_base)))
        elif self.stream.start_time is not None:
            self.before_start += 1
            return False
        else:
            frame.pts = round(self._untimed / (rate * self.stream.time_base))
            self._untimed += 1
            return True  # a raw stream: every frame is timed so, none follows the one before
        self._shown = frame.pts
        self._first = frame.pts if self._first is None else min(self._first, frame.pts)
        return True

    def _checked(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Count a decoded frame; give it a timestamp when the stream has none; refuse a change of size."""
        info = self.info
        if (frame.width, frame.height) != (info.width, info.height):
            raise InputError(f"the picture size changes mid-stream in {self.path} ({info.width}x{info.height} to "
                             f"{frame.width}x{frame.height} at frame {self.frames_decoded}); split the file where "
                             f"it changes or scale it to one size first")
        self.interlaced = self.interlaced or frame.interlaced_frame
        if self.frames_decoded == 0:
            self.display_matrix = frame_display_matrix(frame)
        self.frames_decoded += 1
        self.last_pts = frame.pts
        return frame

    def _check_complete(self) -> None:
        info = self.info
        if self.frames_decoded == 0:
            raise InputError(f"the video stream has no frames: {self.path}")
        # Counted in packets: an edit list (an MP4 cut without re-encoding, a negative start) hides the frames
        # before its start, so fewer frames than declared come out of a complete file.
        if info.frames and self.packets_demuxed < info.frames and self.frames_decoded < info.frames:
            raise InputError(f"truncated stream in {self.path}: decoded {self.frames_decoded} of "
                             f"{info.frames} frames")
        declared = self._declared_video_seconds()
        if not info.frames and declared and self.last_pts is not None and info.rate:
            # Without a declared count, the decoded span must reach the declared duration (within 2 frames).
            # from the earliest frame: a stream's start can be a later frame's (B-frames after negative times)
            start = min(self.stream.start_time or 0, self._first if self._first is not None else 0)
            span = float((self.last_pts - start) * self.stream.time_base)
            if span + 2.0 / float(info.rate) < declared:
                raise InputError(f"truncated stream in {self.path}: frames stop at {span:.2f} s of "
                                 f"{declared:.2f} s")

    def _declared_video_seconds(self) -> float | None:
        """The video stream's own duration: stream header, Matroska's per-stream DURATION tag, else the file's
        duration when no other stream could make it longer."""
        if self.stream.duration:
            return float(self.stream.duration * self.stream.time_base)
        tag = self.stream.metadata.get("DURATION") or self.stream.metadata.get("duration")
        if tag:
            try:
                h, m, sec = tag.split(":")
                return int(h) * 3600 + int(m) * 60 + float(sec)
            except ValueError:
                pass
        if not self.copy_streams and self.info.duration_s:
            return self.info.duration_s
        return None

    @property
    def alpha(self) -> bool:
        """Whether the input carries transparency (a pixel format with alpha, e.g. ProRes 4444; or VP8/VP9 alpha,
        which Matroska and WebM keep beside the picture), which an HDR10 video cannot."""
        alpha_formats = ("yuva", "ya", "gbrap", "rgba", "bgra", "argb", "abgr")
        return (self.info.pix_fmt.startswith(alpha_formats)
                or self.stream.metadata.get("alpha_mode", self.stream.metadata.get("ALPHA_MODE")) == "1")

    @property
    def needs_gamut_conversion(self) -> bool:
        """SDR tagged with BT.2020 primaries: the mappers take BT.709 R'G'B', so rgb() converts it first."""
        return self.info.tags.get("primaries") == "bt2020"

    def rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """Frame -> float32 HWC R'G'B' [0,1] (BT.709 primaries) with the stream's matrix and range."""
        rgb = frame_to_rgb(frame, self.info.matrix, self.info.full_range)
        if self.needs_gamut_conversion:
            rgb = bt2020_to_bt709_sdr(rgb)
        return rgb
