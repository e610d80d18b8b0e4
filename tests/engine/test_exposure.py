"""convert --exposure: a brightness trim in stops on the output light, in every mode, before the peak limit."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from clip_tools import run_cli, sample_planes

import sdr2hdr
from sdr2hdr.color import pq_eotf, pq_inverse_eotf, pq_trim, yuv420_to_rgb
from sdr2hdr.engine.adaptive import AdaptiveTable
from sdr2hdr.engine.convert import classical_mapper, model_mapper
from sdr2hdr.engine.informed import informed_mapper
from sdr2hdr.io import read_hdr10_metadata

PQ_PEAK = float(pq_inverse_eotf(np.array([1000.0]))[0])


@pytest.fixture(scope="module")
def frame():
    """Frame 30 of the bundled sample at 320x180: R'G'B' float32 and its 8-bit 4:2:0 planes."""
    planes = sample_planes(30, (320, 180))
    return np.ascontiguousarray(yuv420_to_rgb(*planes, matrix="bt709", bits=8, full_range=False)), planes


def stops(bright: np.ndarray, base: np.ndarray, below: float = 400.0) -> np.ndarray:
    """log2 of the light ratio per channel sample, where both are lit and below the peak limit's reach."""
    a = np.asarray(pq_eotf(bright), dtype=np.float64)
    b = np.asarray(pq_eotf(base), dtype=np.float64)
    keep = (b > 1.0) & (b < below) & (a < 999.0)
    assert keep.mean() > 0.3, "too few usable pixels to measure the trim"
    return np.log2(a[keep] / b[keep])


def test_pq_trim_scales_light_in_numpy_and_torch():
    e = pq_inverse_eotf(np.array([0.0, 1.0, 100.0, 203.0, 6000.0]))
    got = pq_eotf(pq_trim(e, 1.0))
    np.testing.assert_allclose(got[1:4], [2.0, 200.0, 406.0], rtol=1e-4)
    assert got[4] == pytest.approx(10000.0)  # PQ ends at 10000 cd/m2
    t = pq_trim(torch.from_numpy(e), -1.0)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(pq_eotf(t).numpy()[1:4], [0.5, 50.0, 101.5], rtol=1e-4)


def test_classical_trim_doubles_the_light_and_keeps_the_peak(frame):
    rgb, _ = frame
    base = classical_mapper("bt2446c")(rgb)
    up = classical_mapper("bt2446c", exposure=1.0)(rgb)
    np.testing.assert_allclose(stops(up, base), 1.0, atol=1e-3)
    assert up.max() <= PQ_PEAK + 1e-6
    assert "exposure +1 stops" in classical_mapper("bt2446c", exposure=1.0).description


def test_default_model_trim_in_the_float_path_and_the_code_table(frame):
    """The shipped default: the trim moves its light by the stops asked for in both tiers (float per pixel and
    the 8-bit code table the fast tier bakes), and the estimate itself is unchanged."""
    rgb, planes = frame
    base, dim = model_mapper("adaptive_itm", device="cpu"), model_mapper("adaptive_itm", device="cpu",
                                                                           exposure=-0.5)
    assert dim.model.exposure == -0.5 and base.model.exposure == 0.0
    np.testing.assert_allclose(stops(dim(rgb), base(rgb)), -0.5, atol=1e-3)
    a = AdaptiveTable(base.model, matrix="bt709", full_range=False, pq_peak=PQ_PEAK)(*planes)
    b = AdaptiveTable(dim.model, matrix="bt709", full_range=False, pq_peak=PQ_PEAK)(*planes)
    to_rgb = [yuv420_to_rgb(*p, matrix="bt2020", bits=10, full_range=False) for p in (a, b)]
    # 10-bit codes: a code is about 1% of light in the mid-tones, so the median lands within 0.02 stops
    assert np.median(stops(to_rgb[1], to_rgb[0])) == pytest.approx(-0.5, abs=0.02)
    torch.testing.assert_close(dim.model.prior(torch.from_numpy(rgb).permute(2, 0, 1)[None]),
                               base.model.prior(torch.from_numpy(rgb).permute(2, 0, 1)[None]))


def test_paper_model_and_informed_trims(frame):
    rgb, _ = frame
    base, up = model_mapper("agcm", device="cpu"), model_mapper("agcm", device="cpu", exposure=0.75)
    np.testing.assert_allclose(stops(up(rgb), base(rgb)), 0.75, atol=2e-3)
    assert "exposure +0.75 stops" in up.description
    for name in ("bt2446a", "hable"):  # with restoration weights (a model) and without (the exact inverse alone)
        b, d = informed_mapper(name, device="cpu"), informed_mapper(name, device="cpu", exposure=-1.0)
        np.testing.assert_allclose(stops(d(rgb), b(rgb)), -1.0, atol=2e-3)


@pytest.mark.parametrize("value", [4.5, -9.0, float("nan"), float("inf")])
def test_api_refuses_an_exposure_out_of_range(tmp_path, value):
    with pytest.raises(sdr2hdr.InputError, match=re.escape("--exposure must be in -4..4 stops")):
        sdr2hdr.convert(tmp_path / "missing.mp4", tmp_path / "out.mkv", exposure=value)
    assert not list(tmp_path.iterdir())


def test_cli_trims_a_real_conversion_and_refuses_a_bad_value(sdr_clip, tmp_path):
    """End to end on the acceptance clip: --exposure -1 (a negative number on the command line) halves the
    light written, which the measured MaxFALL in the file shows; a value out of range is one line, exit 2."""
    outs = {}
    for ev in ("0", "-1"):
        out = tmp_path / f"ev{ev}.mkv"
        res = run_cli("convert", sdr_clip, out, "--method", "bt2408", "--exposure", ev, "--quiet")
        assert res.returncode == 0, res.stderr
        cll = read_hdr10_metadata(out)["content_light_level"]
        outs[ev] = cll["max_cll"], cll["max_fall"]
    cll0, fall0 = outs["0"]
    cll1, fall1 = outs["-1"]
    assert fall1 == pytest.approx(fall0 / 2, rel=0.08) and cll1 < cll0
    res = run_cli("convert", sdr_clip, tmp_path / "bad.mkv", "--exposure", "6", "--quiet")
    assert res.returncode == 2 and "must be a number in -4..4 stops" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "bad.mkv").exists()
