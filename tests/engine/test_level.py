"""The level convention (color.level, convert --middle-grey): the default's output median follows the SDR's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_tools import run_cli, sample_planes

from sdr2hdr.cli import build_parser
from sdr2hdr.color import pq_eotf, pq_inverse_eotf, yuv420_to_rgb
from sdr2hdr.color.level import MIDDLE_GREY, SDR_GREY, level_target, sdr_median_light
from sdr2hdr.engine.adaptive import AdaptiveTable
from sdr2hdr.engine.convert import model_mapper
from sdr2hdr.engine.request import ConvertRequest

PQ_PEAK = float(pq_inverse_eotf(np.array([1000.0]))[0])
W2020 = np.array([0.2627, 0.6780, 0.0593])


@pytest.fixture(scope="module")
def frame():
    planes = sample_planes(30, (320, 180))
    return np.ascontiguousarray(yuv420_to_rgb(*planes, matrix="bt709", bits=8, full_range=False)), planes


def median_nits(pq: np.ndarray) -> float:
    return float(np.median(np.asarray(pq_eotf(pq), dtype=np.float64) @ W2020))


def test_an_sdr_grey_card_lands_at_bt2408s_26_nits():
    code = 1.099 * 0.18 ** 0.45 - 0.099  # BT.709 OETF of 18 % reflectance
    assert code == pytest.approx(0.409, abs=1e-3) and SDR_GREY == pytest.approx(0.117, abs=1e-3)
    assert level_target(SDR_GREY) == pytest.approx(MIDDLE_GREY)
    assert level_target(1.0) == pytest.approx(222.2, abs=0.1)  # SDR white: near BT.2408's 203
    grey = np.full((4, 4, 3), code, dtype=np.float32)
    assert sdr_median_light(grey) == pytest.approx(SDR_GREY, rel=1e-4)
    t = torch.from_numpy(grey).permute(2, 0, 1)[None]
    assert float(sdr_median_light(t)[0]) == pytest.approx(SDR_GREY, rel=1e-4)


def test_the_default_puts_the_median_where_the_convention_says(frame):
    """Float path: the output median is the SDR median's light times 26 / 11.7 % (thumbnail median: within 0.15
    stops); twice the grey card is one stop brighter, with the curve's shape untouched."""
    rgb, _ = frame
    conv = model_mapper("adaptive_itm", device="cpu", middle_grey=MIDDLE_GREY)
    want = level_target(sdr_median_light(rgb))
    got = median_nits(conv(rgb))
    assert abs(np.log2(got / want)) < 0.15, (got, want)
    learned = median_nits(model_mapper("adaptive_itm", device="cpu")(rgb))
    assert abs(np.log2(learned / want)) > 0.2  # the convention moved the level: the test can fail
    up = model_mapper("adaptive_itm", device="cpu", middle_grey=2 * MIDDLE_GREY)(rgb)
    assert np.log2(median_nits(up) / got) == pytest.approx(1.0, abs=0.03)


def test_a_darker_sdr_gives_a_darker_output_in_the_code_table(frame):
    """Fast tier (the 8-bit code table): a dusk-like picture (the same frame at 60 % code) keeps its level below
    the brighter one's by what its SDR shows, not by the learned average."""
    rgb, planes = frame
    y, u, v = planes
    dark = (np.clip((y.astype(np.float32) - 16) * 0.6 + 16, 16, 235).astype(np.uint8), u, v)
    model = model_mapper("adaptive_itm", device="cpu", middle_grey=MIDDLE_GREY).model
    med = []
    for p in (planes, dark):
        out = AdaptiveTable(model, matrix="bt709", full_range=False, pq_peak=PQ_PEAK)(*p)
        hdr = yuv420_to_rgb(*out, matrix="bt2020", bits=10, full_range=False)
        sdr = yuv420_to_rgb(*p, matrix="bt709", bits=8, full_range=False)
        med.append((median_nits(hdr), level_target(sdr_median_light(sdr))))
    assert med[1][0] < med[0][0]
    ratio_out, ratio_sdr = med[1][0] / med[0][0], med[1][1] / med[0][1]
    assert abs(np.log2(ratio_out / ratio_sdr)) < 0.2, med


def test_middle_grey_option_default_zero_and_refusals(tmp_path):
    args = build_parser().parse_args(["convert", "a.mp4", "b.mkv", "--middle-grey", "40"])
    assert ConvertRequest.from_args(args) == ConvertRequest("a.mp4", "b.mkv", middle_grey=40.0)
    assert ConvertRequest("a.mp4", "b.mkv").middle_grey == MIDDLE_GREY
    assert build_parser().parse_args(["convert", "a", "b", "--middle-grey", "0"]).middle_grey == 0.0
    for bad in ("1", "nan", "900"):
        res = run_cli("convert", str(tmp_path / "a.mp4"), str(tmp_path / "b.mkv"), "--middle-grey", bad)
        assert res.returncode == 2 and "--middle-grey" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "b.mkv").exists()
