"""The converter's fast paths against the per-pixel float path: the code-value table and the light-level probe."""


import av
import numpy as np
import pytest
from clip_tools import SAMPLE, run_cli

from sdr2hdr.color import rgb_to_yuv420, yuv420_to_rgb
from sdr2hdr.engine.convert import classical_mapper, convert_video
from sdr2hdr.engine.lut import CodeLUT
from sdr2hdr.io import frame_to_rgb
from sdr2hdr.io.frames import frame_plane
from sdr2hdr.io.hdr10 import LightLevel


@pytest.fixture(scope="module")
def table():
    return CodeLUT(classical_mapper("bt2446c").fn, matrix="bt709", full_range=False)


def _float_path(y, u, v, matrix="bt709"):
    rgb = yuv420_to_rgb(y, u, v, matrix=matrix, bits=8, full_range=False)
    return rgb_to_yuv420(classical_mapper("bt2446c").fn(rgb), matrix="bt2020", bits=10, full_range=False)


def test_table_equals_the_float_path_where_chroma_is_flat(table):
    # With chroma constant around each block, nearest and interpolated chroma agree, so the only differences
    # left are float rounding: at most one code anywhere.
    rng = np.random.default_rng(1)
    y = rng.integers(0, 256, (64, 96), dtype=np.uint8)
    u = np.full((32, 48), 90, np.uint8)
    v = np.full((32, 48), 170, np.uint8)
    for got, want in zip(table(y, u, v), _float_path(y, u, v)):
        assert got.dtype == np.uint16 and got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_table_matches_the_float_path_on_a_real_frame(table):
    with av.open(str(SAMPLE)) as c:
        frame = next(f for i, f in enumerate(c.decode(video=0)) if i == 30)
    y, u, v = (np.ascontiguousarray(frame_plane(frame, i, 8)) for i in range(3))
    for name, got, want in zip("YUV", table(y, u, v), _float_path(y, u, v)):
        d = np.abs(got.astype(int) - want.astype(int))
        assert d.mean() < 0.5, name
        assert np.percentile(d, 99) <= 4, name


def test_table_refuses_planes_that_are_not_even_420(table):
    with pytest.raises(ValueError, match="4:2:0"):
        table(np.zeros((5, 8), np.uint8), np.zeros((3, 4), np.uint8), np.zeros((3, 4), np.uint8))


def test_light_level_from_planes_agrees_with_the_full_decode(tmp_path):
    out = tmp_path / "sample.mkv"
    convert_video(SAMPLE, out, classical_mapper("bt2408"), progress=False, max_frames=24, notify=lambda m: None)
    fast, full = LightLevel(), LightLevel()
    with av.open(str(out)) as c:
        for f in c.decode(video=0):
            fast.update_from_yuv420(*(frame_plane(f, i, 10) for i in range(3)))
            full.update_from_pq(frame_to_rgb(f, "bt2020", False))
    assert full.max_cll > 200  # the sample has real highlights, so this compares something
    assert fast.max_cll == pytest.approx(full.max_cll, rel=0.01)
    assert fast.max_fall == pytest.approx(full.max_fall, rel=0.01)


def test_convert_through_the_table_and_exactly_give_nearly_the_same_video(sdr_clip, tmp_path):
    outs = {}
    for lut in (True, False):
        outs[lut] = tmp_path / f"lut_{lut}.mkv"
        report = convert_video(sdr_clip, outs[lut], classical_mapper("bt2446c"), progress=False, lut=lut,
                               notify=lambda m: None)
        assert report.frames == 48
    decoded = {}
    for lut, path in outs.items():
        with av.open(str(path)) as c:
            decoded[lut] = np.stack([frame_to_rgb(f, "bt2020", False) for f in c.decode(video=0)])
    assert decoded[True].shape == decoded[False].shape == (48, 182, 322, 3)
    # both went through x265 separately, so compare as pictures: PQ R'G'B' within a 10-bit code or so on average
    assert np.abs(decoded[True] - decoded[False]).mean() < 2 / 1023


def test_cli_exact_flag_converts(sdr_clip, tmp_path):
    res = run_cli("convert", sdr_clip, tmp_path / "exact.mkv", "--method", "bt2408", "--exact", "--quiet",
                  "--max-frames", "6")
    assert res.returncode == 0, res.stderr
    assert "6 frames" in res.stdout
