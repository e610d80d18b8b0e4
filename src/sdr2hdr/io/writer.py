"""The HDR writer: HEVC Main10 (or AV1, ProRes, FFV1) with BT.2020 / PQ (or HLG) / BT.2020 NCL tags, the ST 2086
mastering display, CTA-861.3 MaxCLL / MaxFALL measured on the frames written, audio and subtitles copied unchanged."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.color import chroma_420_up, hlg_oetf, luminance, pq_eotf, rgb_to_yuv420, yuv420_to_rgb
from sdr2hdr.errors import InputError
from sdr2hdr.io.codecs import CODECS, TRC_CODE, container_format, muxer_options, pix_fmt, svt_mastering
from sdr2hdr.io.container_hdr import write_container_hdr10
from sdr2hdr.io.display_matrix import set_display_matrix
from sdr2hdr.io.frames import frame_plane, frame_to_rgb
from sdr2hdr.io.hdr10 import (
    CLL_SENTINEL,
    LightLevel,
    MasteringDisplay,
    patch_content_light_level,
    replace_in_place,
    sei_safe_light_level,
)
from sdr2hdr.io.hdr10plus import FrameStats, write_hdr10plus
from sdr2hdr.io.media import error_reason, file_url
from sdr2hdr.io.subtitles import add_text_stream, text_conversion

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
    """Encode BT.2020 PQ frames to an HDR file (HEVC by default; AV1, ProRes or FFV1, PQ or HLG) with its
    metadata, copying other streams unchanged."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, time_base: Fraction,
                 rate: Fraction | None, copy_from: Iterable[av.stream.Stream] = (), crf: float | None = None,
                 qp: int | None = None, preset: str = "fast", mastering: MasteringDisplay | None = None,
                 x265_params: str = "", language: str | None = None,
                 sample_aspect_ratio: Fraction | None = None, codec: str = "hevc", transfer: str = "pq",
                 bits: int | None = None, alt_transfer_sei: bool = False, hdr10plus: bool = False) -> None:
        self.mastering = mastering if mastering is not None else MasteringDisplay()
        self.path = str(path)
        self.width, self.height = width, height
        self.codec, self.transfer, self.alt_transfer_sei = CODECS[codec], transfer, alt_transfer_sei
        self.pix_fmt = pix_fmt(codec, bits)
        fmt = Path(path).suffix.lower()
        self._out = av.open(file_url(self.path), "w", format=container_format(fmt), options=muxer_options(fmt))
        try:
            self.stream = self._out.add_stream(self.codec.encoder, rate=rate or Fraction(25))
            cc = self.stream.codec_context
            cc.width, cc.height, cc.pix_fmt = width, height, self.pix_fmt
            if sample_aspect_ratio and sample_aspect_ratio != 1:  # non-square pixels stay non-square
                cc.sample_aspect_ratio = sample_aspect_ratio
            cc.time_base = time_base
            self.stream.time_base = time_base
            trc = "bt2020-10" if alt_transfer_sei else transfer
            cc.color_primaries, cc.color_trc = PRIMARIES_BT2020, TRC_CODE[trc]
            cc.colorspace, cc.color_range = MATRIX_BT2020NCL, RANGE_LIMITED
            self.stream.options = encoder_options(codec, transfer, self.mastering, crf=crf, qp=qp, preset=preset,
                                                  x265_params=x265_params, alt_transfer_sei=alt_transfer_sei)
            if language:
                self.stream.metadata["language"] = language
            if fmt in (".mp4", ".mov", ".m4v") and codec == "hevc":
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
        # encoder, so lossy-coding overshoot at edges is counted, at the cost of one decode per frame. HLG
        # carries no static metadata (its signal is relative to the display), so nothing is measured for it.
        self._decoder = av.CodecContext.create(self.codec.decoder, "r") if transfer == "pq" else None
        if self._decoder is not None:
            self._decoder.thread_type = "AUTO"
        # HDR10+: per-frame statistics of the decoded output and the encoder's keyframes (its scene cuts)
        self.plus = FrameStats() if hdr10plus else None
        self.cuts: list[int] = []
        self.hdr10plus_json: dict | None = None

    def _add_copies(self, copy_from, fmt: str) -> None:
        """Output streams for the audio and subtitle streams copied unchanged (text subtitles converted to the
        text codec the container holds, mov_text <-> SubRip, as ffmpeg does)."""
        self._keep, self._convert = [], {}
        for src in copy_from:
            codec = src.codec_context.name if src.codec_context else "?"
            if fmt == ".ts" and src.type == "subtitle" and codec not in _TS_SUBTITLES:
                # the MPEG-TS muxer would store it as an opaque data stream no player shows
                self.dropped.append(f"subtitle stream #{src.index} ({codec}) dropped: MPEG-TS carries only "
                                    f"DVB subtitles; write .mkv or .mp4 to keep it")
                continue
            target = text_conversion(codec, fmt) if src.type == "subtitle" else None
            if target is None:
                self._copied[src.index] = copy_stream(self._out, src, fmt)
                continue
            dst, self._convert[src.index], keep = add_text_stream(self._out, target)
            self._keep += keep
            dst.time_base = src.time_base
            for key, value in src.metadata.items():
                if key.upper() not in ("DURATION", "ENCODER", "HANDLER_NAME"):
                    dst.metadata[key] = value
            self._copied[src.index] = dst

    def write_planes(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, pts: int | None) -> None:
        """Encode one 10-bit 4:2:0 BT.2020 PQ frame (limited-range code values)."""
        if self.transfer == "hlg":
            y, u, v = hlg_planes_from_pq(y, u, v)
        if self.pix_fmt != "yuv420p10le":
            y, u, v = relayout(y, u, v, self.pix_fmt)
        frame = av.VideoFrame(self.width, self.height, self.pix_fmt)
        for plane, data in zip(frame.planes, (y, u, v)):
            per_line = plane.line_size // 2
            buf = np.frombuffer(memoryview(plane), dtype="<u2").reshape(-1, per_line)
            # the frame buffer is writable memory owned by FFmpeg: fill it in place instead of copying twice
            np.copyto(buf[: data.shape[0], : data.shape[1]], data, casting="unsafe")
        frame.pts = pts if pts is not None else self.frames_written
        frame.time_base = self.stream.codec_context.time_base
        for packet in self.stream.encode(frame):
            self._mux(packet)
        self.frames_written += 1

    def _mux(self, packet: av.Packet) -> None:
        if self.codec.name.startswith("prores"):
            tag_prores_colour(packet, TRC_CODE["bt2020-10" if self.alt_transfer_sei else self.transfer])
        if self.plus is not None and packet.is_keyframe and packet.pts is not None:
            self.cuts.append(packet.pts)
        self._measure(packet)
        self._out.mux(packet)

    def _measure(self, packet: av.Packet | None) -> None:
        if self._decoder is None:
            return
        if not self._decoder.is_open:
            # FFV1 version 3 keeps its configuration in the extradata, and its decoder needs the size to open
            cc = self.stream.codec_context
            self._decoder.extradata = cc.extradata
            self._decoder.width, self._decoder.height, self._decoder.pix_fmt = cc.width, cc.height, cc.pix_fmt
        for decoded in self._decoder.decode(packet):
            if self.plus is not None:
                self.plus.add(decoded.pts, frame_to_rgb(decoded, "bt2020", False))
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
        if out is None or packet.dts is None:
            return
        convert = self._convert.get(packet.stream.index)
        if convert is not None:
            text = convert(bytes(packet))
            if not text:  # an empty mov_text sample only marks the gap between cues
                return
            new = av.Packet(text)
            new.pts, new.dts, new.duration, new.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
            packet = new
        packet.stream = out
        self._out.mux(packet)

    def close(self, patch: bool = True) -> tuple[int, int]:
        """Flush the encoder, close the file and write the measured MaxCLL / MaxFALL into it.

        ``patch=False`` leaves the sentinel in place, for a piece of a film patched after joining."""
        for packet in self.stream.encode(None):
            self._mux(packet)
        self._measure(None)
        self._out.close()
        if self.plus is not None and self.plus.frames:
            self.hdr10plus_json = write_hdr10plus(self.path, self.plus, self.cuts, self.mastering.max_nits,
                                                  self.stream.codec_context.time_base)
        if self.transfer != "pq":
            cll = (0, 0)
        else:
            cll = sei_safe_light_level(round(self.level.max_cll), round(self.level.max_fall))
            if patch:
                if not write_light_level(self.path, self.codec.name, self.mastering, cll):
                    self.dropped.append(f"MaxCLL {cll[0]} / MaxFALL {cll[1]} and the mastering display are not "
                                        f"written: {self.codec.label} in a {Path(self.path).suffix} file has no "
                                        f"place for them here; --codec hevc or av1 carries them")
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


_SVT_PRESETS = {"ultrafast": 13, "superfast": 12, "veryfast": 11, "faster": 10, "fast": 10, "medium": 8,
                "slow": 6, "slower": 4, "veryslow": 2, "placebo": 1}
# SVT-AV1's scale (0..63): a streaming rate, a third of x265 CRF 18's size at 3.7 dB less PSNR on the 1080p
# benchmark (docs/usage.md, Delivery); --crf 10 comes within 1.1 dB of it
AV1_DEFAULT_CRF = 30


def encoder_options(codec: str, transfer: str, mastering: MasteringDisplay, *, crf: float | None, qp: int | None,
                    preset: str, x265_params: str = "", alt_transfer_sei: bool = False) -> dict[str, str]:
    """The FFmpeg encoder options of an output: rate control, speed and the in-stream HDR metadata."""
    if codec == "hevc":
        rc = f"qp={qp}" if qp is not None else f"crf={crf if crf is not None else 18}"
        params = ["repeat-headers=1", "colorprim=bt2020", "colormatrix=bt2020nc", "range=limited", "log-level=error",
                  rc]
        if transfer == "pq":
            params += ["hdr10=1", "hdr10-opt=0", f"master-display={mastering.x265()}",
                       f"max-cll={CLL_SENTINEL[0]},{CLL_SENTINEL[1]}", "transfer=smpte2084"]
        elif alt_transfer_sei:  # BT.2020 in the VUI for older decoders, HLG preferred through the SEI
            params += ["transfer=bt2020-10", "atc-sei=18"]
        else:
            params += ["transfer=arib-std-b67"]
        if x265_params:
            params.append(x265_params)
        return {"x265-params": ":".join(params), "preset": preset}
    if codec == "av1":
        os.environ.setdefault("SVT_LOG", "1")  # errors only: SVT-AV1 logs its settings to stderr by default
        options = {"preset": str(_SVT_PRESETS.get(preset, 10)),
                   "crf": str(round(crf if crf is not None else qp if qp is not None else AV1_DEFAULT_CRF))}
        if transfer == "pq":
            options["svtav1-params"] = (f"mastering-display={svt_mastering(mastering)}:"
                                        f"content-light={CLL_SENTINEL[0]},{CLL_SENTINEL[1]}")
        return options
    if codec.startswith("prores"):
        return {"profile": "4" if codec == "prores4444" else "3", "vendor": "apl0"}
    return {"level": "3", "slicecrc": "1", "slices": "4"}  # FFV1 version 3: sliced, checksummed


def write_light_level(path: str | os.PathLike, codec: str, mastering: MasteringDisplay,
                      cll: tuple[int, int]) -> bool:
    """Write the measured MaxCLL / MaxFALL into a closed file: over the sentinel of HEVC's SEI or AV1's metadata
    OBU, and with the mastering display into the container where it has a place for them; False if neither."""
    if codec == "hevc":
        patch_content_light_level(path, *cll)
    elif codec == "av1":
        patch_av1_light_level(path, *cll)
    return write_container_hdr10(path, mastering, *cll) or CODECS[codec].static_in_stream


def patch_av1_light_level(path: str | os.PathLike, max_cll: int, max_fall: int) -> int:
    """Replace the sentinel in every AV1 HDR_CLL metadata OBU of a file (AV1 has no emulation prevention, so any
    value has the same length); returns the count."""
    # metadata_type 1 (HDR_CLL), the two 16-bit values, then the OBU's trailing bits
    old = bytes([1, *CLL_SENTINEL[0].to_bytes(2, "big"), *CLL_SENTINEL[1].to_bytes(2, "big"), 0x80])
    new = bytes([1, *int(max_cll).to_bytes(2, "big"), *int(max_fall).to_bytes(2, "big"), 0x80])
    count = replace_in_place(path, old, new)
    if count == 0:
        raise RuntimeError(f"no AV1 content light level metadata found in {path}")
    return count


def hlg_planes_from_pq(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10-bit 4:2:0 BT.2020 PQ planes to HLG ones at the 1000 cd/m2 nominal peak (BT.2408: PQ display light
    through the inverse HLG EOTF with system gamma 1.2, as ``color.hlg_inverse_eotf``; light above 1000 cd/m2
    clips to the HLG peak).

    The per-sample powers go through 16-bit tables (the PQ EOTF by R'G'B' code; the OETF by the square root of
    scene light, on which it is smooth down to black): at most one 10-bit code off the formulas (0.4 % of samples
    of a random 1080p frame) in about two thirds of their time."""
    pq_lut, oetf_lut = _hlg_tables()
    rgb = yuv420_to_rgb(y, u, v, matrix="bt2020", bits=10, full_range=False)
    codes = np.rint(np.clip(rgb, 0.0, 1.0) * np.float32(65535)).astype(np.uint16)
    light = np.minimum(pq_lut[codes], np.float32(1000.0))
    lum = luminance(light)[..., 0]
    gamma = 1.2
    # E = F / (Lw Ys^(gamma-1)) with Ys = (Yd/Lw)^(1/gamma): one power per pixel, not per sample
    scale = np.power(np.maximum(lum, np.float32(1e-6)) / np.float32(1000.0), np.float32((1 - gamma) / gamma))
    scale /= np.float32(1000.0)
    scene = np.sqrt(np.clip(light * scale[..., None], 0.0, 1.0))
    signal = oetf_lut[np.rint(scene * np.float32(65535)).astype(np.uint16)]
    return rgb_to_yuv420(signal, matrix="bt2020", bits=10, full_range=False)


@functools.lru_cache(maxsize=1)
def _hlg_tables() -> tuple[np.ndarray, np.ndarray]:
    """The PQ EOTF by 16-bit code (cd/m2) and the HLG OETF by 16-bit square root of scene light."""
    grid = np.linspace(0.0, 1.0, 65536)
    return (np.asarray(pq_eotf(grid), dtype=np.float32),
            np.asarray(hlg_oetf(grid * grid), dtype=np.float32))


def tag_prores_colour(packet: av.Packet, trc: int) -> None:
    """Write BT.2020 / ``trc`` / BT.2020 NCL into a ProRes frame header, in place: FFmpeg's prores_ks copies them
    from the frame, and PyAV cannot tag a frame's primaries or transfer (decoders read the header, not the box)."""
    view = memoryview(packet)
    if bytes(view[4:8]) == b"icpf":  # frame size, 'icpf', then the header: primaries at byte 22, transfer, matrix
        view[22], view[23], view[24] = PRIMARIES_BT2020, trc, MATRIX_BT2020NCL


def relayout(y: np.ndarray, u: np.ndarray, v: np.ndarray, pix_fmt: str) -> tuple[np.ndarray, ...]:
    """10-bit 4:2:0 planes as 4:2:2 or 4:4:4 and / or 12 bits, with no colour change: chroma is interpolated as
    the peak limiter assumed (``chroma_420_up``), not by swscale's default filter, whose overshoot would lift
    saturated highlights above the peak; 12 bits is the same code times 4."""
    H, W = y.shape
    if "444" in pix_fmt or "422" in pix_fmt:
        u, v = (np.rint(chroma_420_up(c.astype(np.float32), H, W)) for c in (u, v))
        if "422" in pix_fmt:  # even columns of the interpolation are the samples themselves: rows only
            u, v = u[:, ::2], v[:, ::2]
    if "12" in pix_fmt:
        y, u, v = (np.asarray(c, dtype=np.uint16) << 2 for c in (y, u, v))
    return y, u, v
