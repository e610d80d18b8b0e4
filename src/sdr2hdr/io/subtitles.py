"""Text subtitles across containers, as ffmpeg converts them: MP4's mov_text (3GPP timed text) to Matroska's SubRip
and back, packet by packet, the text and its times unchanged.

PyAV cannot open a text subtitle encoder (FFmpeg wants an ASS header PyAV cannot set), so each output stream takes
its header from a template: a one-cue SubRip file read from memory, or an MP4 with one empty tx3g track written here.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import av

#: a text codec an output container cannot hold -> the text codec it can, by output extension (PyAV names SubRip
#: by its decoder, "srt"; "text" is raw UTF-8 text)
_MP4 = (".mp4", ".m4v", ".mov")
_TEXT_FOR = {(".mkv", "mov_text"): "subrip"} | {(ext, c): "mov_text" for ext in _MP4 for c in ("subrip", "srt", "text")}

def text_conversion(codec: str, ext: str) -> str | None:
    """The text codec a subtitle stream becomes in an output of this extension, or None if it is copied as is."""
    return _TEXT_FOR.get((ext, codec))


def add_text_stream(out: av.container.OutputContainer, target: str) -> tuple[av.stream.Stream, Callable, list]:
    """A SubRip or mov_text stream in ``out``, with the packet payload conversion into it; the third item keeps the
    template container alive while ``out`` is written."""
    if target == "subrip":
        template = av.open(io.BytesIO(b"1\n00:00:00,000 --> 00:00:01,000\n-\n"), format="srt")
        convert = _mov_text_to_srt
    else:
        template = av.open(io.BytesIO(_tx3g_template()), format="mp4")
        convert = _srt_to_mov_text
    stream = out.add_stream_from_template(template.streams.subtitles[0], opaque=True)
    return stream, convert, [template]


def _mov_text_to_srt(payload: bytes) -> bytes:
    """A mov_text sample is a 16-bit text length, the UTF-8 text, then optional style boxes: the text alone."""
    n = int.from_bytes(payload[:2], "big")
    return payload[2: 2 + n]


def _srt_to_mov_text(payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "big") + payload


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, body: bytes, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", flags) + body)


def _tx3g_template() -> bytes:
    """An MP4 with one empty 3GPP timed-text track (ISO/IEC 14496-12 boxes, 3GPP TS 26.245 tx3g entry)."""
    unity = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(b"mvhd", struct.pack(">4IiH10x", 0, 0, 1000, 0, 0x10000, 0x100) + unity + bytes(24) +
                 struct.pack(">I", 2))
    tkhd = _full(b"tkhd", struct.pack(">5I8x4H", 0, 0, 1, 0, 0, 0, 0, 0, 0) + unity + struct.pack(">2I", 0, 0), 3)
    mdhd = _full(b"mdhd", struct.pack(">4I2H", 0, 0, 1000, 0, 0x55C4, 0))  # language "und"
    hdlr = _full(b"hdlr", struct.pack(">I4s12x", 0, b"sbtl") + b"\0")
    # display flags, justification, background, text box, default style (font 1, 16 px, white), font table: the
    # defaults FFmpeg's own mov_text encoder writes, so a decoder adds no font tags to the text
    ftab = _box(b"ftab", struct.pack(">HHB", 1, 1, 5) + b"Arial")
    tx3g = _box(b"tx3g", bytes(6) + struct.pack(">H", 1) + struct.pack(">IbbI", 0, 1, -1, 0xFF) + bytes(8) +
                struct.pack(">HHHBBI", 0, 0, 1, 0, 16, 0xFFFFFFFF) + ftab)
    stbl = _box(b"stbl", _full(b"stsd", struct.pack(">I", 1) + tx3g) + _full(b"stts", bytes(4)) +
                _full(b"stsc", bytes(4)) + _full(b"stsz", bytes(8)) + _full(b"stco", bytes(4)))
    dinf = _box(b"dinf", _full(b"dref", struct.pack(">I", 1) + _full(b"url ", b"", 1)))
    minf = _box(b"minf", _full(b"nmhd", b"") + dinf + stbl)
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf)))
    return _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41") + moov
