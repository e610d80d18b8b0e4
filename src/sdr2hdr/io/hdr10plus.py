"""HDR10+ (SMPTE ST 2094-40) per-scene metadata written by us: statistics of the decoded output per frame, scenes
cut where the encoder put a keyframe (x265's scene-cut detector), the T.35 SEI inserted before every frame's first
slice by one remux, and a JSON export in the layout of common HDR10+ tools (hdr10plus_tool's profile A)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.io.atomic import write_atomic, write_text_atomic
from sdr2hdr.io.media import file_url

PERCENTAGES = (1, 5, 10, 25, 50, 75, 90, 95, 99)  # the distribution points HDR10+ tools commonly write
_BINS = 1024  # maxRGB histogram over PQ codes: 10-bit steps, finer than the 0.1 cd/m2 fields at the low end
_NITS = np.asarray(pq_eotf(np.arange(_BINS) / (_BINS - 1)), dtype=np.float64)
_FORMATS = {".mkv": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".ts": "mpegts", ".hevc": "hevc",
            ".h265": "hevc"}


class FrameStats:
    """Per-frame light statistics of the decoded output, by presentation time."""

    def __init__(self) -> None:
        self.frames: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # pts -> (max R, G, B in cd/m2, histogram)

    def add(self, pts: int, pq_rgb: np.ndarray) -> None:
        """One decoded frame as PQ R'G'B' HWC in [0, 1]."""
        peaks = np.asarray(pq_eotf(pq_rgb.reshape(-1, 3).max(axis=0).astype(np.float64)))
        codes = np.rint(np.clip(pq_rgb.max(axis=-1), 0.0, 1.0) * (_BINS - 1)).astype(np.int64)
        self.frames[pts] = (peaks, np.bincount(codes.ravel(), minlength=_BINS))


def scene_metadata(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """One scene's ST 2094-40 luminance parameters from its frames, in the bitstream's units (0.1 cd/m2):
    MaxSCL per component, the average maxRGB, and maxRGB percentiles over every pixel of the scene."""
    parts = list(parts)
    peaks = np.max([p for p, _ in parts], axis=0)
    hist = np.sum([h for _, h in parts], axis=0)
    cum = np.cumsum(hist) / hist.sum()
    tenth = lambda nits: int(min(round(float(nits) * 10), 100000))  # noqa: E731 - u17 field, 10000 cd/m2 top
    return {"maxscl": [tenth(v) for v in peaks], "average_maxrgb": tenth(hist @ _NITS / hist.sum()),
            "percentages": list(PERCENTAGES),
            "percentiles": [tenth(_NITS[int(np.searchsorted(cum, q / 100))]) for q in PERCENTAGES]}


def histogram_cuts(stats: FrameStats, times: list[int], threshold: float = 0.5) -> list[int]:
    """Frames whose maxRGB histogram differs from the previous frame's by more than ``threshold`` (the L1 distance
    of the normalised histograms, 0..2): a new shot. x265 marks only some cuts with a keyframe (none closer
    than its minimum keyframe interval), so the light itself decides as well."""
    cuts = []
    for prev, t in zip(times, times[1:]):
        a, b = stats.frames[prev][1], stats.frames[t][1]
        if np.abs(a / a.sum() - b / b.sum()).sum() > threshold:
            cuts.append(t)
    return cuts


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, n: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i: i + 8])), 2) for i in range(0, len(bits), 8))


def t35_payload(meta: dict, target_nits: int) -> bytes:
    """The user_data_registered_itu_t_t35 SEI payload: USA (0xB5), provider 0x003C, oriented code 0x0001, then
    ST 2094-40 application 4 version 1 with one window, no tone-mapping curve and no saturation mapping."""
    b = _Bits()
    for value, n in ((0xB5, 8), (0x003C, 16), (0x0001, 16), (4, 8), (1, 8), (1, 2), (int(target_nits), 27), (0, 1)):
        b.put(value, n)
    for v in meta["maxscl"]:
        b.put(v, 17)
    b.put(meta["average_maxrgb"], 17)
    b.put(len(meta["percentages"]), 4)
    for pct, value in zip(meta["percentages"], meta["percentiles"]):
        b.put(pct, 7)
        b.put(value, 17)
    b.put(0, 10)  # fraction_bright_pixels
    b.put(0, 1)  # mastering_display_actual_peak_luminance_flag
    b.put(0, 1)  # tone_mapping_flag
    b.put(0, 1)  # color_saturation_mapping_flag
    return b.bytes()


def sei_nal(payload: bytes) -> bytes:
    """A prefix SEI NAL unit (type 39) holding one T.35 message, with emulation prevention, without start code."""
    size = len(payload)
    body = bytes([4]) + bytes([255] * (size // 255)) + bytes([size % 255]) + payload + bytes([0x80])
    out = bytearray([0x4E, 0x01])
    zeros = 0
    for byte in body:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _with_sei(data: bytes, nal: bytes, annexb: bool) -> bytes:
    """Insert the NAL unit before the first slice of an access unit: Annex B (start codes: MPEG-TS, raw HEVC) or
    4-byte lengths (MP4, Matroska; their data can begin like a start code, so the container decides)."""
    if annexb:
        pos = 0
        while True:
            pos = data.find(b"\x00\x00\x01", pos)
            if pos < 0 or (data[pos + 3] >> 1) & 0x3F < 32:  # VCL NAL types are 0..31
                break
            pos += 3
        at = pos - 1 if pos > 0 and data[pos - 1] == 0 else max(pos, 0)
        return data[:at] + b"\x00\x00\x00\x01" + nal + data[at:]
    pos = 0
    while pos + 5 <= len(data) and (data[pos + 4] >> 1) & 0x3F >= 32:
        pos += 4 + int.from_bytes(data[pos: pos + 4], "big")
    return data[:pos] + len(nal).to_bytes(4, "big") + nal + data[pos:]


def metadata_obu(t35: bytes) -> bytes:
    """An AV1 metadata OBU of type ITU-T T.35 (4) holding the same payload as the HEVC SEI, with its size field."""
    body = bytes([4]) + t35 + bytes([0x80])
    return bytes([5 << 3 | 0x02]) + _leb128(len(body)) + body


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _with_obu(data: bytes, obu: bytes) -> bytes:
    """Insert the OBU before the first frame (header) OBU of a temporal unit, after any delimiter and sequence
    header, where AV1 places metadata."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        kind, ext, has_size = (header >> 3) & 0xF, (header >> 2) & 1, (header >> 1) & 1
        if kind in (3, 6) or not has_size:  # frame header or frame (a unit without sizes: put it first)
            break
        at, size, shift = pos + 1 + ext, 0, 0
        while True:
            byte = data[at]
            size |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if not byte & 0x80:
                break
        pos = at + size
    return data[:pos] + obu + data[pos:]


def write_hdr10plus(path: str | os.PathLike, stats: FrameStats, cuts: Iterable[int], target_nits: float,
                    time_base: Fraction) -> dict:
    """Insert the per-scene SEI into every frame of a written HEVC file (one remux); returns the JSON export
    (the caller writes it beside the output once that has its final name). ``stats`` and ``cuts`` count
    presentation times in ``time_base``; the container may store them in another (Matroska: milliseconds)."""
    path = Path(path)
    times = sorted(stats.frames)
    starts = sorted({t for t in cuts if t in stats.frames} | {times[0]} | set(histogram_cuts(stats, times)))
    scene_of = {t: int(np.searchsorted(starts, t, side="right")) - 1 for t in times}
    metas = [scene_metadata(stats.frames[t] for t in times if scene_of[t] == k) for k in range(len(starts))]
    with av.open(file_url(path)) as probe:
        av1 = probe.streams.video[0].codec_context.name in ("av1", "libdav1d", "libaom-av1")
    wrap = metadata_obu if av1 else sei_nal
    nals = [wrap(t35_payload(m, round(target_nits))) for m in metas]
    # a scene starts at a time; half the shortest frame interval absorbs the container's rounding of times
    seconds = np.array([float((t - times[0]) * time_base) for t in starts])
    slack = 0.5 * float(min(np.diff(times), default=1) * time_base)

    def nal_for(t: float) -> bytes:
        """The SEI of the frame at container time t, counted from the stream's start as the encoder's were (an
        MPEG-TS muxer starts the clock at 1.4 s)."""
        return nals[max(int(np.searchsorted(seconds, t + slack, side="right")) - 1, 0)]

    write_atomic(path, lambda tmp: _remux(path, tmp, nal_for), overwrite=True)
    return _json_document(times, scene_of, metas, round(target_nits))


def write_hdr10plus_json(output: str | os.PathLike, doc: dict) -> Path:
    """The JSON export beside an output: ``<output>.hdr10plus.json``."""
    path = Path(output)
    return write_text_atomic(path.with_name(path.name + ".hdr10plus.json"), json.dumps(doc, indent=1) + "\n")


def _remux(path: Path, tmp: str, nal_for) -> None:
    with av.open(file_url(path)) as src, \
            av.open(file_url(tmp), "w", format=_FORMATS[path.suffix.lower()], options=_mux_options(path)) as out:
        video = src.streams.video[0]
        annexb = path.suffix.lower() in (".ts", ".hevc", ".h265")
        av1 = video.codec_context.name in ("av1", "libdav1d", "libaom-av1")
        origin = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
        streams = {}
        for s in src.streams:
            streams[s.index] = dst = out.add_stream_from_template(s, opaque=True)
            dst.time_base = s.time_base
            if path.suffix.lower() in (".mp4", ".m4v", ".mov"):
                dst.codec_tag = s.codec_tag
            for key, value in s.metadata.items():
                if key.upper() not in ("DURATION", "ENCODER"):
                    dst.metadata[key] = value
            dst.disposition = int(s.disposition.value)
        for packet in src.demux():
            index = packet.stream.index
            if not packet.size or index not in streams:
                continue
            if index == video.index:
                nal = nal_for(float(packet.pts * packet.time_base) - origin)
                data = bytes(packet)
                new = av.Packet(_with_obu(data, nal) if av1 else _with_sei(data, nal, annexb))
                new.pts, new.dts, new.duration, new.time_base = packet.pts, packet.dts, packet.duration, \
                    packet.time_base
                new.is_keyframe = packet.is_keyframe
                packet = new
            packet.stream = streams[index]
            out.mux(packet)


def _mux_options(path: Path) -> dict[str, str]:
    from sdr2hdr.io.codecs import muxer_options

    return muxer_options(path.suffix.lower())


def _json_document(times: list[int], scene_of: dict, metas: list[dict], target: int) -> dict:
    """hdr10plus_tool's JSON layout (profile A: no Bezier curve), one SceneInfo entry per frame."""
    info, first, counts = [], [], []
    for n, t in enumerate(times):
        k = scene_of[t]
        if not first or k != scene_of[times[n - 1]]:
            first.append(n)
            counts.append(0)
        counts[-1] += 1
        m = metas[k]
        info.append({"LuminanceParameters": {"AverageRGB": m["average_maxrgb"], "LuminanceDistributions": {
            "DistributionIndex": m["percentages"], "DistributionValues": m["percentiles"]}, "MaxScl": m["maxscl"]},
            "NumberOfWindows": 1, "TargetedSystemDisplayMaximumLuminance": target, "SceneFrameIndex": n - first[-1],
            "SceneId": k, "SequenceFrameIndex": n})
    return {"JSONInfo": {"HDR10plusProfile": "A", "Version": "1.0"}, "SceneInfo": info,
            "SceneInfoSummary": {"SceneFirstFrameIndex": first, "SceneFrameNumbers": counts},
            "ToolInfo": {"Tool": "sdr2hdr", "Version": "1"}}
