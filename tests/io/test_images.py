"""Still image I/O: EXR, Radiance .hdr, 16-bit PQ PNG, 8-bit PNG, atomic writes."""

import cv2
import numpy as np
import OpenEXR
import pytest

from sdr2hdr.errors import InputError
from sdr2hdr.io import read_exr, read_image, read_png, read_radiance, write_atomic, write_exr, write_png8, write_png16


def test_exr_round_trip_keeps_half_float_values(tmp_path):
    rgb = np.random.default_rng(0).uniform(0, 4000, (7, 9, 3)).astype(np.float32)
    write_exr(tmp_path / "a.exr", rgb)
    back = read_exr(tmp_path / "a.exr")
    assert back.shape == (7, 9, 3) and back.dtype == np.float32
    np.testing.assert_allclose(back, rgb.astype(np.float16).astype(np.float32))


def test_exr_with_bt2020_chromaticities_is_converted_to_bt709(tmp_path):
    from sdr2hdr.color import BT709_TO_BT2020

    rgb709 = np.random.default_rng(1).uniform(0.1, 1, (4, 4, 3)).astype(np.float32)
    write_exr(tmp_path / "w.exr", rgb709 @ BT709_TO_BT2020.T.astype(np.float32), half=False, primaries="bt2020")
    np.testing.assert_allclose(read_exr(tmp_path / "w.exr"), rgb709, atol=1e-4)


def test_exr_with_separate_channels_and_luminance_only(tmp_path):
    y = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, {"Y": y}) as f:
        f.write(str(tmp_path / "y.exr"))
    got = read_exr(tmp_path / "y.exr")
    assert got.shape == (3, 4, 3)
    np.testing.assert_allclose(got[..., 1], y)


def test_radiance_hdr_is_read_as_rgb(tmp_path):
    rgb = np.zeros((4, 6, 3), np.float32)
    rgb[..., 0] = 8.0  # red only: catches a BGR/RGB swap
    cv2.imwrite(str(tmp_path / "r.hdr"), rgb[..., ::-1].copy())
    got = read_radiance(tmp_path / "r.hdr")
    assert got[..., 0].min() > 7.5 and got[..., 1:].max() == 0


def test_png16_holds_value_times_65535_and_png8_value_times_255(tmp_path):
    rgb = np.random.default_rng(2).uniform(0, 1, (5, 3, 3))
    write_png16(tmp_path / "h.png", rgb)
    write_png8(tmp_path / "s.png", rgb)
    raw = cv2.imread(str(tmp_path / "h.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw, np.rint(rgb * 65535).astype(np.uint16))
    px16, bits16 = read_png(tmp_path / "h.png")
    px8, bits8 = read_png(tmp_path / "s.png")
    assert (bits16, bits8) == (16, 8)
    np.testing.assert_allclose(px16, rgb, atol=0.5 / 65535 + 1e-7)
    np.testing.assert_allclose(px8, rgb, atol=0.5 / 255 + 1e-7)
    assert read_image(tmp_path / "h.png").kind == "pq" and read_image(tmp_path / "s.png").kind == "sdr"


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    def boom(tmp):
        open(tmp, "wb").write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "x.png", boom)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_images_raise_input_errors(tmp_path):
    (tmp_path / "bad.exr").write_bytes(b"not an exr")
    with pytest.raises(InputError, match="cannot read EXR"):
        read_exr(tmp_path / "bad.exr")
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "missing.png")
