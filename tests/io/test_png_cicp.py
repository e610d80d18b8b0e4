"""16-bit PQ PNGs carry a cICP chunk (BT.2020, PQ, RGB, full range) before IDAT, and the reader uses it."""

import struct
import zlib

import av
import numpy as np
import pytest
from clip_tools import run_cli

from sdr2hdr.io.images import Cicp, add_cicp, read_image, write_png8, write_png16


def _raw_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """Chunks parsed here without the project's parser: (type, payload, stored CRC)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        out.append((kind, payload, struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]))
        pos += 12 + length
    return out


def test_pq_png_has_cicp_before_idat_with_valid_crc(tmp_path):
    path = write_png16(tmp_path / "pq.png", np.random.default_rng(0).random((20, 30, 3)))
    chunks = _raw_chunks(path.read_bytes())
    kinds = [k for k, _, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert kinds.count(b"cICP") == 1
    assert kinds.index(b"cICP") < kinds.index(b"IDAT")
    _, payload, crc = chunks[kinds.index(b"cICP")]
    assert payload == bytes([9, 16, 0, 1])
    assert crc == zlib.crc32(b"cICP" + payload)
    for kind, payload, crc in chunks:  # the rewrite kept every other chunk intact
        assert crc == zlib.crc32(kind + payload), kind


def test_ffmpeg_decoder_reads_the_chunk(tmp_path):
    """An independent parser: the FFmpeg 8 PNG decoder bundled with PyAV maps cICP to the stream's colour tags
    (Debian's ffprobe 5.1 predates cICP support)."""
    path = write_png16(tmp_path / "pq.png", np.full((8, 8, 3), 0.5))
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        next(c.decode(video=0))
        assert (int(cc.color_primaries), int(cc.color_trc), int(cc.color_range)) == (9, 16, 2)


def test_pixels_unchanged_by_the_chunk(tmp_path):
    px = np.random.default_rng(1).random((12, 16, 3))
    img = read_image(write_png16(tmp_path / "pq.png", px))
    assert img.kind == "pq" and img.cicp == Cicp(9, 16, 0, 1) and img.bit_depth == 16
    assert np.array_equal(np.rint(img.pixels * 65535), np.rint(px * 65535))


def test_reader_follows_the_chunk(tmp_path):
    px = np.random.default_rng(2).random((8, 8, 3))
    sdr16 = write_png16(tmp_path / "srgb16.png", px, cicp=Cicp(1, 13, 0, 1))  # a 16-bit sRGB picture
    assert read_image(sdr16).kind == "sdr"
    pq8 = tmp_path / "pq8.png"
    write_png8(pq8, px)
    assert read_image(pq8).kind == "sdr"
    pq8.write_bytes(add_cicp(pq8.read_bytes(), Cicp(9, 16, 0, 1)))  # an 8-bit PQ PNG, known only by its tag
    assert read_image(pq8).kind == "pq"
    plain = write_png16(tmp_path / "plain16.png", px, cicp=None)  # untagged 16-bit: the project's convention
    assert read_image(plain).kind == "pq" and read_image(plain).cicp is None


def test_tagged_pq_png_is_refused_as_input_and_described(tmp_path):
    pq8 = tmp_path / "pq8.png"
    write_png8(pq8, np.full((16, 16, 3), 0.6))
    pq8.write_bytes(add_cicp(pq8.read_bytes(), Cicp(9, 16, 0, 1)))
    res = run_cli("convert", pq8, tmp_path / "out.png", "--method", "bt2408")
    assert res.returncode == 2 and "already HDR" in res.stderr, res.stderr
    info = run_cli("info", pq8)
    assert info.returncode == 0 and "BT.2020, PQ, full range (9/16/0/1)" in info.stdout, info.stdout


def test_bad_crc_is_refused(tmp_path):
    data = bytearray(write_png16(tmp_path / "pq.png", np.zeros((4, 4, 3))).read_bytes())
    at = data.index(b"cICP") + 5
    data[at] ^= 0xFF
    with pytest.raises(Exception, match="bad CRC"):
        add_cicp(bytes(data), Cicp(9, 16, 0, 1))
