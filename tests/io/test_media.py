"""The one video probe (io.media): SDR and HDR10 files alike, HDR10 metadata read back, one InputError for bad input."""

import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest
from clip_tools import make_sdr_clip

from sdr2hdr.errors import InputError
from sdr2hdr.io.hdr10 import MasteringDisplay
from sdr2hdr.io.media import check_sdr, estimate_frames, probe, read_hdr10_metadata
from sdr2hdr.io.writer import HDR10Writer


def _hdr10(path, frames: int = 3, size: tuple[int, int] = (64, 48)):
    """An HDR10 file written by the project's writer; returns (path, the MaxCLL / MaxFALL it wrote)."""
    mastering = MasteringDisplay(max_nits=600.0, min_nits=0.005)
    w, h = size
    writer = HDR10Writer(path, w, h, Fraction(1, 24), Fraction(24), preset="ultrafast", mastering=mastering)
    ramp = np.linspace(0.1, 0.7, w, dtype=np.float32)
    for i in range(frames):
        writer.write_pq(np.broadcast_to(ramp[None, :, None], (h, w, 3)).copy(), pts=i)
    return path, writer.close()


def test_an_sdr_clip_is_described_with_its_tags_and_streams(tmp_path):
    src = make_sdr_clip(tmp_path / "sdr.mp4", width=64, height=48, frames=4)
    info = probe(src)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (64, 48, "h264", "yuv420p")
    assert info.tags == {"primaries": "bt709", "transfer": "bt709", "matrix": "bt709", "range": "limited"}
    assert (info.matrix, info.full_range, info.hdr, info.hdr10) == ("bt709", False, None, {})
    assert info.rate == 24 and info.frames == 4 and estimate_frames(info) == 4
    assert [(s.index, s.type, s.codec) for s in info.streams] == [(0, "video", "h264"), (1, "audio", "aac")]
    assert info.streams[1].sample_rate == 48000 and info.copy_streams == [(1, "audio", "aac")]
    assert info.size_bytes == src.stat().st_size and info.container == "QuickTime / MOV"
    assert check_sdr(info) is info


def test_an_hdr10_file_is_probed_with_its_metadata_and_refused_as_sdr_input(tmp_path):
    out, (max_cll, max_fall) = _hdr10(tmp_path / "hdr.mkv")
    info = probe(out)
    assert info.hdr == "PQ (SMPTE ST 2084)" and info.cicp == (9, 16, 9, 1)
    assert info.tags == {"primaries": "bt2020", "transfer": "smpte2084", "matrix": "bt2020", "range": "limited"}
    md = info.hdr10["mastering_display"]
    assert md["max_luminance"] == pytest.approx(600.0) and md["min_luminance"] == pytest.approx(0.005)
    assert md["white_point"] == pytest.approx((0.3127, 0.3290), abs=1e-4)
    assert md["red"] == pytest.approx((0.680, 0.320), abs=1e-4)
    assert info.hdr10["content_light_level"] == {"max_cll": max_cll, "max_fall": max_fall}
    assert 0 < max_fall < max_cll  # the sentinel was replaced by what the ramp measures
    assert read_hdr10_metadata(out) == info.hdr10
    with pytest.raises(InputError, match="already HDR"):
        check_sdr(info)


def test_sdr_input_has_no_hdr10_metadata(tmp_path):
    assert read_hdr10_metadata(make_sdr_clip(tmp_path / "sdr.mkv", width=32, height=32, frames=2)) == {}


def _audio_only(path):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.mp4", "no such file"),
    (lambda d: d, "not a file"),
    (lambda d: _file(d / "empty.mp4", b""), "the file is empty"),
    (lambda d: _file(d / "junk.mp4", b"not a video " * 64), "not a video or image file"),
    (lambda d: _audio_only(d / "tone.m4a"), "no video stream"),
])
def test_bad_input_is_one_input_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=message) as err:
        probe(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_importing_io_for_stills_does_not_import_pyav():
    code = "import sys, sdr2hdr.io; assert 'av' not in sys.modules; sdr2hdr.io.probe; assert 'av' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
