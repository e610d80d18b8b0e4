"""The HDR10 writer: HEVC Main10 yuv420p10le with BT.2020 / SMPTE ST 2084 / BT.2020 NCL tags, the ST 2086
mastering display, CTA-861.3 MaxCLL / MaxFALL measured on the frames written, audio and subtitles copied unchanged."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.color import rgb_to_yuv420
from sdr2hdr.errors import InputError
from sdr2hdr.io.display_matrix import set_display_matrix
from sdr2hdr.io.frames import frame_plane, frame_to_rgb
from sdr2hdr.io.hdr10 import (
    CLL_SENTINEL,
    LightLevel,
    MasteringDisplay,
    patch_content_light_level,
    sei_safe_light_level,
)
from sdr2hdr.io.media import TRC_PQ, error_reason, file_url

# H.273 code points the output is tagged with
PRIMARIES_BT2020, MATRIX_BT2020NCL, RANGE_LIMITED = 9, 9, 1
MIN_SIDE = 16  # x265 refuses pictures narrower or lower than this
_TS_SUBTITLES = {"dvb_subtitle", "dvb_teletext"}  # the only subtitles the MPEG-TS muxer carries as such


def copy_stream(out: av.container.OutputContainer, src: av.stream.Stream, fmt: str) -> av.stream.Stream:
    """Add an audio or subtitle stream of the input to ``out`` unchanged, with its language, title and flags.

    ``fmt``: the output's extension, for the message when its container cannot hold the stream (an InputError).
    """
    try:
        dst = out.add_stream_from_template(src)
    except (ValueError, av.error.FFmpegError) as exc:
        codec = src.codec_context.name if src.codec_context else "?"
        raise InputError(f"cannot copy {src.type} stream #{src.index} ({codec}) unchanged into a {fmt} file: "
                         f"{error_reason(exc)}; write the output with the input's container type instead") from None
    # language, title and default/forced flags are part of "unchanged" for a viewer
    for key, value in src.metadata.items():
        if key.upper() not in ("DURATION", "ENCODER", "NUMBER_OF_FRAMES", "NUMBER_OF_BYTES"):
            dst.metadata[key] = value
    try:
        dst.disposition = src.disposition
    except (AttributeError, TypeError, ValueError):
        pass
    return dst


class HDR10Writer:
    """Encode BT.2020 PQ frames to HEVC Main10 with HDR10 metadata, copying other streams unchanged."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, time_base: Fraction,
                 rate: Fraction | None, copy_from: Iterable[av.stream.Stream] = (), crf: float | None = None,
                 qp: int | None = None, preset: str = "fast", mastering: MasteringDisplay | None = None,
                 x265_params: str = "", language: str | None = None,
                 sample_aspect_ratio: Fraction | None = None) -> None:
        mastering = mastering if mastering is not None else MasteringDisplay()
        self.path = str(path)
        self.width, self.height = width, height
        fmt = Path(path).suffix.lower()
        self._out = av.open(file_url(self.path), "w", format=container_format(fmt), options=muxer_options(fmt))
        try:
            self.stream = self._out.add_stream("libx265", rate=rate or Fraction(25))
            cc = self.stream.codec_context
            cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p10le"
            if sample_aspect_ratio and sample_aspect_ratio != 1:  # non-square pixels stay non-square
                cc.sample_aspect_ratio = sample_aspect_ratio
            cc.time_base = time_base
            self.stream.time_base = time_base
            cc.color_primaries, cc.color_trc = PRIMARIES_BT2020, TRC_PQ
            cc.colorspace, cc.color_range = MATRIX_BT2020NCL, RANGE_LIMITED
            rc = f"qp={qp}" if qp is not None else f"crf={crf if crf is not None else 18}"
            params = ["hdr10=1", "repeat-headers=1", "hdr10-opt=0", f"master-display={mastering.x265()}",
                      f"max-cll={CLL_SENTINEL[0]},{CLL_SENTINEL[1]}", "colorprim=bt2020",
                      "transfer=smpte2084", "colormatrix=bt2020nc", "range=limited", "log-level=error", rc]
            if x265_params:
                params.append(x265_params)
            self.stream.options = {"x265-params": ":".join(params), "preset": preset}
            if language:
                self.stream.metadata["language"] = language
            if fmt in (".mp4", ".mov", ".m4v"):
                self.stream.codec_tag = "hvc1"  # the tag Apple players require for HEVC in MP4
            self._copied = {}
            self.dropped: list[str] = []
            self._add_copies(copy_from, fmt)
        except BaseException:
            self._out.close()
            raise
        self.level = LightLevel()
        self.frames_written = 0
        self.display_matrix: bytes | None = None  # the input's rotation, set before close()
        # MaxCLL / MaxFALL are measured on what a player will see: each packet is decoded again as it leaves the
        # encoder, so lossy-coding overshoot at edges is counted, at the cost of one HEVC decode per frame.
        self._decoder = av.CodecContext.create("hevc", "r")
        self._decoder.thread_type = "AUTO"

    def _add_copies(self, copy_from, fmt: str) -> None:
        """Output streams for the audio and subtitle streams copied unchanged."""
        for src in copy_from:
            codec = src.codec_context.name if src.codec_context else "?"
            if fmt == ".ts" and src.type == "subtitle" and codec not in _TS_SUBTITLES:
                # the MPEG-TS muxer would store it as an opaque data stream no player shows
                self.dropped.append(f"subtitle stream #{src.index} ({codec}) dropped: MPEG-TS carries only "
                                    f"DVB subtitles; write .mkv to keep it")
                continue
            self._copied[src.index] = copy_stream(self._out, src, fmt)

    def write_planes(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, pts: int | None) -> None:
        """Encode one 10-bit 4:2:0 BT.2020 PQ frame (limited-range code values)."""
        frame = av.VideoFrame(self.width, self.height, "yuv420p10le")
        for plane, data in zip(frame.planes, (y, u, v)):
            per_line = plane.line_size // 2
            buf = np.frombuffer(memoryview(plane), dtype="<u2").reshape(-1, per_line)
            # the frame buffer is writable memory owned by FFmpeg: fill it in place instead of copying twice
            np.copyto(buf[: data.shape[0], : data.shape[1]], data, casting="unsafe")
        frame.pts = pts if pts is not None else self.frames_written
        frame.time_base = self.stream.codec_context.time_base
        for packet in self.stream.encode(frame):
            self._measure(packet)
            self._out.mux(packet)
        self.frames_written += 1

    def _measure(self, packet: av.Packet | None) -> None:
        for decoded in self._decoder.decode(packet):
            if decoded.format.name == "yuv420p10le":
                self.level.update_from_yuv420(*(frame_plane(decoded, i, 10) for i in range(3)))
            else:
                self.level.update_from_pq(frame_to_rgb(decoded, "bt2020", False))

    def write_pq(self, pq_rgb: np.ndarray, pts: int | None) -> None:
        """Encode one PQ R'G'B' HWC frame in [0,1]; light level is measured on the quantised 10-bit planes."""
        y, u, v = rgb_to_yuv420(pq_rgb, matrix="bt2020", bits=10, full_range=False)
        self.write_planes(y, u, v, pts)

    def copy_packet(self, packet: av.Packet) -> None:
        """Mux a packet of an audio/subtitle stream unchanged."""
        out = self._copied.get(packet.stream.index)
        if out is not None and packet.dts is not None:
            packet.stream = out
            self._out.mux(packet)

    def close(self, patch: bool = True) -> tuple[int, int]:
        """Flush the encoder, close the file and write the measured MaxCLL / MaxFALL into it.

        ``patch=False`` leaves the sentinel in place, for a piece of a film patched after joining."""
        for packet in self.stream.encode(None):
            self._measure(packet)
            self._out.mux(packet)
        self._measure(None)
        self._out.close()
        cll = sei_safe_light_level(round(self.level.max_cll), round(self.level.max_fall))
        if patch:
            patch_content_light_level(self.path, *cll)
        if self.display_matrix is not None and not set_display_matrix(self.path, self.display_matrix):
            self.dropped.append(f"the input's rotation is not kept: a {Path(self.path).suffix} file has no place "
                                f"for it; write .mkv or .mp4 to keep it")
        return cll

    def abort(self) -> None:
        """Close without flushing (the caller removes the file)."""
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - the file is being thrown away
            pass


def container_format(ext: str) -> str | None:
    """The FFmpeg muxer for an output extension (".mkv" -> "matroska"); None lets FFmpeg guess from the name."""
    return {".mkv": "matroska", ".mka": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov",
            ".ts": "mpegts", ".hevc": "hevc", ".h265": "hevc"}.get(ext)


def muxer_options(ext: str) -> dict[str, str]:
    """Muxer options for an HDR10 output: no Matroska CRCs (the MaxCLL patch changes bytes after the muxer wrote
    them) and the MP4 colr box (players read the colour tags there)."""
    options = {"write_crc32": "0"} if ext in (".mkv", ".mka", ".webm") else {}
    if ext in (".mp4", ".mov", ".m4v"):
        options["movflags"] = "+write_colr"
    return options
