"""`sdr2hdr convert` on stills: 8-bit SDR PNG in, 16-bit PQ PNG or linear BT.2020 EXR out."""

import numpy as np
import pytest
from clip_tools import run_cli

from sdr2hdr.color import pq_eotf
from sdr2hdr.io import read_exr, read_png, write_png8


@pytest.fixture()
def grey_png(tmp_path):
    img = np.zeros((6, 10, 3), np.float32)
    img[:, :5] = 1.0
    img[:, 5:] = 0.5
    return write_png8(tmp_path / "sdr.png", img)


def test_png_to_pq_png_maps_white_to_203_nits_with_bt2408(tmp_path, grey_png):
    res = run_cli("convert", grey_png, tmp_path / "hdr.png", "--method", "bt2408")
    assert res.returncode == 0, res.stderr
    pq, bits = read_png(tmp_path / "hdr.png")
    assert bits == 16
    assert float(pq[0, 0, 0]) == pytest.approx(0.5806889, abs=1 / 65535)
    assert float(pq_eotf(pq[0, 0, 1])) == pytest.approx(203.0, rel=2e-3)


def test_png_to_exr_holds_linear_nits(tmp_path, grey_png):
    res = run_cli("convert", grey_png, tmp_path / "hdr.exr", "--method", "bt2408")
    assert res.returncode == 0, res.stderr
    lin = read_exr(tmp_path / "hdr.exr")  # converted back to BT.709 primaries: grey stays grey
    assert lin[0, 0] == pytest.approx([203.0] * 3, rel=2e-3)
    # code 128/255 -> (0.50196)^2.4 * 203
    assert lin[0, 9, 1] == pytest.approx(203.0 * (128 / 255) ** 2.4, rel=3e-3)
