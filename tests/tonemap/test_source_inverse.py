"""tonemap.source_inverse: each curve of `convert --source-tmo` undone on SDR that curve made (informed mode)."""

import numpy as np
import pytest

from sdr2hdr.color import BT709_TO_BT2020, apply_matrix, bt1886_inverse_eotf, pq_eotf, pq_inverse_eotf
from sdr2hdr.data.degrade import TMO_NAMES, tone_map
from sdr2hdr.tonemap.source_inverse import CAMERA_DEFAULTS, SOURCE_TMOS, source_inverse

# The forward parameters each inverse assumes (source_inverse's docstring: the forward curves' defaults,
# BT.2390 from 1000 cd/m2 on R'G'B', the camera at CAMERA_DEFAULTS), passed the way data.degrade.tone_map takes them.
FORWARD = {"bt2446a": {"Lhdr": 1000.0}, "bt2446c": {"alpha": 0.0}, "bt2390": {"mode": "rgb"},
           "hable": {"exposure": 2.0, "white": 1000.0}, "reinhard": {"exposure": 1.0, "white": 1000.0},
           "camera": CAMERA_DEFAULTS}
_Y709 = np.array([0.2126, 0.7152, 0.0722])
_TO_709 = np.linalg.inv(BT709_TO_BT2020)


def greyish_hdr(n=3000, lo=1.0, hi=600.0, seed=0):
    """(n, 3) linear BT.2020 cd/m2: BT.709 colours of moderate saturation, luminance log-uniform in [lo, hi]."""
    rng = np.random.default_rng(seed)
    L = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    chroma = rng.uniform(0.6, 1.0, (n, 3))
    lin709 = L[:, None] * chroma / (chroma @ _Y709)[:, None]
    return np.asarray(apply_matrix(BT709_TO_BT2020, lin709), dtype=np.float64)


def round_trip(name, hdr):
    """Forward through `name`, to BT.709 SDR R'G'B' in float (no 8-bit step), back through the inverse.

    Returns (PQ out, PQ in, mask of the pixels the forward path left inside the SDR cube, i.e. not clipped)."""
    sdr_2020 = np.asarray(tone_map(hdr[None], name, FORWARD[name]))[0]
    lin709 = np.asarray(apply_matrix(_TO_709, sdr_2020))
    inside = (lin709.max(-1) <= 1.0) & (lin709.min(-1) >= 0.0)
    sdr = np.asarray(bt1886_inverse_eotf(100.0 * np.clip(lin709, 0.0, 1.0)), dtype=np.float32)
    pq = np.asarray(source_inverse(name)(sdr[None]))[0]
    return pq, np.asarray(pq_inverse_eotf(hdr)), inside


def test_names_are_the_degradation_models():
    assert SOURCE_TMOS == TMO_NAMES


@pytest.mark.parametrize("name", [n for n in SOURCE_TMOS if n != "bt2446a"])
def test_inverse_undoes_the_forward_curve(name):
    # the camera clips at 203 / 0.55 = 369 cd/m2: stay below it
    hdr = greyish_hdr(hi=300.0 if name == "camera" else 600.0)
    pq, want, inside = round_trip(name, hdr)
    assert pq.dtype == np.float32 and pq.shape == hdr.shape
    assert inside.mean() > 0.8  # most of the content is compared (BT.2446 C's SDR white is at 332 cd/m2)
    err = np.abs(pq - want)[inside] * 1023
    assert err.max() < 0.05, err.max()  # a twentieth of a 10-bit code: numerically exact
    # and what the check covers reaches into the highlights
    assert pq_eotf(want[inside]).max() > 250.0


def test_bt2446a_standard_inverse_is_close_to_the_forward_curve():
    # BT.2446-1 Table 4 is a fitted polynomial, not the forward curve's algebraic inverse: a few codes off
    pq, want, inside = round_trip("bt2446a", greyish_hdr())
    err = np.abs(pq - want)[inside] * 1023
    assert err.mean() < 4.0 and err.max() < 10.0, (err.mean(), err.max())


@pytest.mark.parametrize("name", SOURCE_TMOS)
def test_inverse_is_monotone_on_grey_and_keeps_black(name):
    levels = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    pq = np.asarray(source_inverse(name)(np.repeat(levels[:, None], 3, 1)[None]))[0]
    assert np.all(np.diff(pq[:, 1]) >= 0)
    assert pq[-1, 1] > pq[128, 1] > pq[1, 1]
    assert pq[0, 1] < 0.05  # SDR black lands near HDR black (below 0.1 cd/m2)
    np.testing.assert_allclose(pq[:, 0], pq[:, 1], atol=2e-5)  # grey stays grey (float32 matrices)


@pytest.mark.parametrize("name", SOURCE_TMOS)
def test_quantised_8_bit_sdr_lands_within_a_few_codes(name):
    # what convert sees: 8-bit SDR. The inverse expands quantisation in the highlights, still within ~1 %.
    hdr = greyish_hdr(n=1000, hi=300.0 if name == "camera" else 600.0, seed=1)
    sdr_2020 = np.asarray(tone_map(hdr[None], name, FORWARD[name]))[0]
    lin709 = np.asarray(apply_matrix(_TO_709, sdr_2020))
    inside = (lin709.max(-1) <= 1.0) & (lin709.min(-1) >= 0.0)
    sdr8 = np.rint(np.asarray(bt1886_inverse_eotf(100.0 * np.clip(lin709, 0, 1))) * 255) / 255
    pq = np.asarray(source_inverse(name)(sdr8[None].astype(np.float32)))[0]
    err = np.abs(pq - np.asarray(pq_inverse_eotf(hdr)))[inside] * 1023
    assert np.median(err) < 4.0 and np.percentile(err, 99) < 16.0, (np.median(err), np.percentile(err, 99))


def test_unknown_name_raises_listing_the_names():
    with pytest.raises(ValueError, match="unknown source curve 'aces'") as exc:
        source_inverse("aces")
    assert all(n in str(exc.value) for n in SOURCE_TMOS)
