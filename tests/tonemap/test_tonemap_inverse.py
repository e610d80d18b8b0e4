"""Inverse mappings (SDR -> HDR baselines): every BT.2408 / BT.2446 known value, shapes, torch parity."""

import doctest

import numpy as np
import pytest
import torch

from sdr2hdr.color import BT709_TO_BT2020, apply_matrix, encode_ycbcr, pq_eotf, pq_inverse_eotf, rgb_to_ycbcr
from sdr2hdr.tonemap import (
    INVERSE_MAPPINGS,
    SDR_WHITE_ANCHOR,
    bt2408_direct,
    bt2446a_inverse,
    bt2446a_inverse_luma,
    bt2446c_forward,
    bt2446c_forward_luminance,
    bt2446c_inverse,
    bt2446c_inverse_luminance,
    crosstalk_matrix,
    inverse,
)

RNG = np.random.default_rng(5)


def narrow8(code):
    """SDR signal value of an 8-bit narrow-range code (super-whites above 1)."""
    return (code - 16) / 219


def grey(v):
    return np.full(3, float(v))


def pq_code10(pq_rgb):
    return int(encode_ycbcr(rgb_to_ycbcr(pq_rgb, "bt2020"), bits=10)[0])


# --- BT.2408 direct mapping ---------------------------------------------------------------------------

@pytest.mark.parametrize("code, cd, pq, code10", [(235, 203.0, 0.5806889, 573), (126, 38.884, None, 429),
                                                  (16, 0.0, None, 64)])
def test_bt2408_known_values(code, cd, pq, code10):
    out = bt2408_direct(grey(narrow8(code)))
    assert pq_eotf(out)[0] == pytest.approx(cd, abs=5e-4)
    if pq is not None:
        assert out[0] == pytest.approx(pq, abs=5e-8)
    assert pq_code10(out) == code10


def test_bt2408_white_parameter_and_gamut():
    assert pq_eotf(bt2408_direct(grey(1.0), white=300.0))[0] == pytest.approx(300.0)
    red = bt2408_direct(np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(pq_eotf(red), 203.0 * BT709_TO_BT2020[:, 0], rtol=1e-9)


# --- BT.2446 Method A inverse ---------------------------------------------------------------------------

def test_bt2446a_table4_coefficients():
    assert inverse.A_INV_LOW == (1.8712e-5, -2.7334e-3, 1.3141)
    assert inverse.A_INV_HIGH == (2.8305e-6, -7.4622e-4, 1.2528)


@pytest.mark.parametrize("y, E, y_hdr, cd", [(1.0, 1.2465672, 999.80, 999.52), (0.5, None, 342.25, 76.28),
                                             (0.25, None, 156.33, 11.63)])
def test_bt2446a_known_grey_values(y, E, y_hdr, cd):
    E_got, y_hdr_got = bt2446a_inverse_luma(np.array(y))
    if E is not None:
        assert float(E_got) == pytest.approx(E, abs=5e-8)
    assert float(y_hdr_got) == pytest.approx(y_hdr, abs=5e-3)
    assert pq_eotf(bt2446a_inverse(grey(y)))[0] == pytest.approx(cd, abs=5e-3)


def test_bt2446a_split_point_70():
    E, y_hdr = bt2446a_inverse_luma(np.array(70 / 255))
    assert float(E) == pytest.approx(1.2144508, abs=5e-8)
    assert float(y_hdr) == pytest.approx(174.0928, abs=5e-5)


def test_bt2446a_black_and_saturated_colours():
    assert pq_eotf(bt2446a_inverse(grey(0.0)))[0] == 0.0
    sat = pq_eotf(bt2446a_inverse(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])))
    assert np.all(sat >= 0) and np.all(sat <= 1000.0 + 1e-9)
    # Hue survives: the primary stays the largest component.
    assert np.argmax(sat, axis=-1).tolist() == [0, 1, 2]


# --- BT.2446 Method C ---------------------------------------------------------------------------------------

def test_bt2446c_constants():
    assert (inverse.C_K1, inverse.C_K2, inverse.C_K3, inverse.C_K4) == (0.83802, 15.09968, 0.74204, 78.99439)
    assert inverse.C_Y_SDR_IP == 58.5
    assert inverse.C_Y_HDR_IP == pytest.approx(69.8074, abs=5e-5)
    # The published k2, k4 join the two branches at the inflection point to within 0.1%.
    knee_at_ip = inverse.C_K2 * np.log(1 - inverse.C_K3) + inverse.C_K4
    assert knee_at_ip == pytest.approx(inverse.C_Y_SDR_IP, rel=1e-3)


def test_bt2446c_curve_known_values():
    np.testing.assert_allclose(bt2446c_forward_luminance(np.array([1000.0, 203.0])), [118.387, 90.664], atol=5e-4)
    np.testing.assert_allclose(bt2446c_inverse_luminance(np.array([100.0, 90.667])), [332.383, 203.026], atol=5e-4)


@pytest.mark.parametrize("code, sdr_cd, hdr_cd", [(126, 19.155, 22.857), (254, 122.10, 1264.42)])
def test_bt2446c_8bit_codes(code, sdr_cd, hdr_cd):
    Y_sdr = 100.0 * narrow8(code) ** 2.4
    assert Y_sdr == pytest.approx(sdr_cd, abs=5e-3)
    assert float(bt2446c_inverse_luminance(Y_sdr)) == pytest.approx(hdr_cd, abs=5e-3)
    assert pq_eotf(bt2446c_inverse(grey(narrow8(code))))[0] == pytest.approx(hdr_cd, abs=5e-3)


def test_bt2446c_curve_round_trip():
    Y = 10 ** RNG.uniform(-2, 4, 1000)
    np.testing.assert_allclose(bt2446c_inverse_luminance(bt2446c_forward_luminance(Y)), Y, rtol=1e-12)


def test_bt2446c_keeps_chromaticity():
    sdr = RNG.random((100, 3)) * 0.9 + 0.05
    hdr = pq_eotf(bt2446c_inverse(sdr))
    sdr_2020 = apply_matrix(BT709_TO_BT2020, 100.0 * sdr**2.4)
    ratio = hdr / sdr_2020
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(3, axis=1), rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.2])
def test_bt2446c_inverse_undoes_forward(alpha):
    sdr = RNG.random((200, 3))
    hdr = pq_eotf(bt2446c_inverse(sdr, alpha=alpha))
    np.testing.assert_allclose(bt2446c_forward(hdr, alpha=alpha) * 100, apply_matrix(BT709_TO_BT2020, 100 * sdr**2.4),
                               rtol=1e-9, atol=1e-9)


def test_crosstalk_matrix():
    m = crosstalk_matrix(0.05)
    np.testing.assert_allclose(m, [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    np.testing.assert_array_equal(crosstalk_matrix(0.0), np.eye(3))
    with pytest.raises(ValueError):
        crosstalk_matrix(0.4)


def test_bt2446c_alpha_acts_on_saturated_colours_only():
    # Crosstalk changes the luminance that drives the curve, Y_x = (1-3a) Y + a (R+G+B): for a bright yellow
    # (R+G+B < 3Y) it drops, so the yellow is expanded less; greys (R+G+B = 3Y) are untouched.
    yellow = np.array([1.0, 1.0, 0.0])
    assert pq_eotf(bt2446c_inverse(yellow, alpha=0.1))[0] < pq_eotf(bt2446c_inverse(yellow))[0] - 1.0
    np.testing.assert_allclose(bt2446c_inverse(grey(0.7), alpha=0.1), bt2446c_inverse(grey(0.7)), rtol=1e-12)


# --- all mappings ---------------------------------------------------------------------------------------------

def test_registry_and_white_anchors():
    assert set(INVERSE_MAPPINGS) == {"bt2408", "bt2446a", "bt2446c"}
    assert SDR_WHITE_ANCHOR["bt2408"] == 203.0
    assert SDR_WHITE_ANCHOR["bt2446a"] == pytest.approx(999.52, abs=5e-3)
    assert SDR_WHITE_ANCHOR["bt2446c"] == pytest.approx(332.383, abs=5e-4)
    for name, fn in INVERSE_MAPPINGS.items():
        assert pq_eotf(fn(grey(1.0)))[0] == pytest.approx(SDR_WHITE_ANCHOR[name], rel=1e-9), name


@pytest.mark.parametrize("name", sorted(INVERSE_MAPPINGS))
def test_mapping_range_and_grey_monotonic(name):
    fn = INVERSE_MAPPINGS[name]
    ramp = np.linspace(0, 1, 256)[:, None].repeat(3, axis=1)
    out = fn(ramp)
    assert out.shape == ramp.shape and np.all(out >= 0) and np.all(out <= 1)
    assert np.all(np.diff(out[:, 0]) >= 0)
    rgb = fn(RNG.random((16, 16, 3)))
    assert np.all(np.isfinite(rgb)) and rgb.min() >= 0 and rgb.max() <= 1


@pytest.mark.parametrize("name", sorted(INVERSE_MAPPINGS))
def test_mapping_torch_nchw_batched_matches_numpy_hwc(name):
    fn = INVERSE_MAPPINGS[name]
    x = RNG.random((3, 3, 8, 10))
    got = fn(torch.from_numpy(x))
    assert isinstance(got, torch.Tensor) and got.shape == x.shape
    ref = np.stack([fn(np.moveaxis(img, 0, -1)) for img in x])
    np.testing.assert_allclose(np.moveaxis(got.numpy(), 1, -1), ref, rtol=1e-10, atol=1e-12)
    f32 = fn(torch.from_numpy(x).float())
    assert f32.dtype == torch.float32
    np.testing.assert_allclose(f32.numpy(), got.numpy(), atol=5e-5)
    assert fn(np.moveaxis(x, 1, -1).astype(np.float32)).dtype == np.float32


def test_doctests_pass():
    assert doctest.testmod(inverse, extraglobs={"np": np}).failed == 0


def test_pq_round_trip_of_mapping_outputs_is_consistent():
    out = bt2408_direct(RNG.random((10, 3)))
    np.testing.assert_allclose(pq_inverse_eotf(pq_eotf(out)), out, atol=1e-12)
