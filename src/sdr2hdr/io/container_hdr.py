"""HDR10 static metadata at container level: Matroska MasteringMetadata / MaxCLL / MaxFALL and the MP4 `mdcv` /
`clli` boxes, written by one remux whose video stream header comes from a one-packet MP4 carrier that holds them."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import av

from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.io.hdr10 import MasteringDisplay
from sdr2hdr.io.media import file_url

#: outputs whose container has a place for HDR10 static metadata
CONTAINER_HDR_EXTENSIONS = frozenset({".mkv", ".mp4", ".mov", ".m4v", ".webm"})
_PATH_TO_ENTRY = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd")
_FORMATS = {".mkv": "matroska", ".webm": "webm", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}


def mdcv_payload(m: MasteringDisplay) -> bytes:
    """The `mdcv` box body (ISO/IEC 23001-8, as in the HEVC SEI): G, B, R and white xy in 0.00002 units, then the
    peak and black in 0.0001 cd/m2."""
    xy = [round(v / 0.00002) for p in (m.green, m.blue, m.red, m.white) for v in p]
    return struct.pack(">8H2I", *xy, round(m.max_nits * 10000), round(m.min_nits * 10000))


def write_container_hdr10(path: str | os.PathLike, mastering: MasteringDisplay, max_cll: int, max_fall: int) -> bool:
    """Give a written file's video track container-level HDR10 metadata; False where the container has no place
    for it (MPEG-TS, raw streams) or the codec cannot ride in the MOV carrier (FFV1), the file then unchanged.

    FFmpeg's muxers write MasteringMetadata (Matroska) and mdcv / clli (MP4, MOV) from the stream's side data,
    which PyAV cannot set; the MP4 demuxer reads it from those boxes, so a one-packet MP4 with the boxes added by
    hand gives the stream header the whole file is remuxed with (packets unchanged, one read and one write).
    """
    path = Path(path)
    if path.suffix.lower() not in CONTAINER_HDR_EXTENSIONS:
        return False
    carrier = path.with_name(f".{os.getpid()}.hdr.mov")  # short names: path's may be near NAME_MAX
    try:
        with av.open(file_url(path)) as src:
            video = src.streams.video[0]
            if video.codec_context.name == "ffv1":
                return False
            # ProRes goes only into MOV, AV1 only into MP4; both demux the boxes the same way
            fmt = "mov" if video.codec_context.name == "prores" else "mp4"
            with av.open(file_url(carrier), "w", format=fmt, options={"movflags": "+write_colr"}) as out:
                dst = out.add_stream_from_template(video, opaque=True)
                dst.codec_tag = video.codec_tag  # hvc1 stays hvc1 (Apple players play no hev1)
                packet = next(p for p in src.demux(video) if p.size)
                packet.stream = dst
                out.mux(packet)
        boxes = _box(b"mdcv", mdcv_payload(mastering)) + _box(b"clli", struct.pack(">2H", max_cll, max_fall))
        _add_to_sample_entry(carrier, boxes)
        write_atomic(path, lambda remuxed: _remux(path, carrier, remuxed), overwrite=True)
    finally:
        if carrier.exists():
            carrier.unlink()
    return True


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _add_to_sample_entry(path: Path, boxes: bytes) -> None:
    """Append boxes to the end of the first video sample entry (hvc1, av01, apch, ...) of a one-track MP4 whose
    media data comes before its moov (FFmpeg's default), so no chunk offset moves; every enclosing size grows."""
    data = bytearray(path.read_bytes())
    chain, start, end = [], 0, len(data)
    for kind in _PATH_TO_ENTRY:
        pos = _find_child(data, start, end, kind)
        chain.append(pos)
        header = 16 if kind == b"stsd" else 8  # stsd is a full box with an entry count
        start, end = pos + header, pos + struct.unpack(">I", data[pos: pos + 4])[0]
    if _find_child(data, 0, len(data), b"mdat") > chain[0]:
        raise RuntimeError("carrier MP4 has its moov before its media data")
    entry = start
    entry_end = entry + struct.unpack(">I", data[entry: entry + 4])[0]
    data[entry_end:entry_end] = boxes
    for pos in (*chain, entry):
        size = struct.unpack(">I", data[pos: pos + 4])[0]
        data[pos: pos + 4] = struct.pack(">I", size + len(boxes))
    path.write_bytes(bytes(data))


def _find_child(data: bytearray, start: int, end: int, kind: bytes) -> int:
    pos = start
    while pos + 8 <= end:
        size, name = struct.unpack(">I4s", data[pos: pos + 8])
        if name == kind:
            return pos
        if size < 8:
            break
        pos += size
    raise RuntimeError(f"no {kind.decode()} box where expected")


def _remux(path: Path, carrier: Path, remuxed: str) -> None:
    """Every stream of path into remuxed, the video's header (with the HDR10 side data) taken from carrier."""
    with av.open(file_url(path)) as src, av.open(file_url(carrier)) as car, \
            av.open(file_url(remuxed), "w", format=_FORMATS[path.suffix.lower()], options=_mux_options(path)) as out:
        streams = {}
        for s in src.streams:
            template = car.streams.video[0] if s.index == src.streams.video[0].index else s
            streams[s.index] = dst = out.add_stream_from_template(template, opaque=True)
            if path.suffix.lower() in (".mp4", ".m4v", ".mov"):
                dst.codec_tag = s.codec_tag
            dst.time_base = s.time_base
            for key, value in s.metadata.items():  # language, title and flags stay as they were
                if key.upper() not in ("DURATION", "ENCODER"):
                    dst.metadata[key] = value
            dst.disposition = int(s.disposition.value)
        for packet in src.demux():
            # Matroska stores no decoding times: a packet without dts is still a packet to keep
            if packet.size and packet.stream.index in streams:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)


def _mux_options(path: Path) -> dict[str, str]:
    from sdr2hdr.io.codecs import muxer_options

    return muxer_options(path.suffix.lower())
