"""The held-out curves of tonemap.forward (aces_filmic, log_shoulder, agx_like): values, shape, colour, parity."""

import numpy as np
import pytest
import torch

from sdr2hdr.color import luminance
from sdr2hdr.data.degrade import TMO_NAMES
from sdr2hdr.data.generator import FAMILIES
from sdr2hdr.tonemap import FORWARD_TMOS, HELDOUT_TMOS, aces_filmic, agx_like, log_shoulder

CURVES = sorted(HELDOUT_TMOS)


def grey_ramp(lo=0.01, hi=10000.0, n=400):
    """(n, 3) grey HDR levels from lo to hi cd/m2, log spaced."""
    return np.repeat(np.geomspace(lo, hi, n)[:, None], 3, 1)


def narkowicz(x):
    """K. Narkowicz's ACES fit, written out from its docstring: x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14)."""
    return x * (2.51 * x + 0.03) / (x * (2.43 * x + 0.59) + 0.14)


def test_heldout_curves_are_registered_and_never_a_training_curve():
    assert HELDOUT_TMOS == {"aces": aces_filmic, "log_shoulder": log_shoulder, "agx": agx_like}
    for name in HELDOUT_TMOS:
        assert name not in FORWARD_TMOS and name not in TMO_NAMES and name not in FAMILIES


@pytest.mark.parametrize("name", CURVES)
def test_grey_is_monotone_in_luminance_and_stays_in_0_1(name):
    ramp = grey_ramp()
    out = np.asarray(HELDOUT_TMOS[name](ramp))
    assert out.shape == ramp.shape
    # grey stays grey
    np.testing.assert_allclose(out[:, 0], out[:, 1], rtol=1e-12)
    np.testing.assert_allclose(out[:, 0], out[:, 2], rtol=1e-12)
    v = out[:, 0]
    assert v.min() >= 0.0 and v.max() <= 1.0 + 1e-12
    assert np.all(np.diff(v) >= -1e-12)  # flat at 1.0 above white, up to float rounding
    # strictly rising over the picture range (no flat part below 1000 cd/m2), and reaching white at the top
    below = ramp[:, 0] <= 1000.0
    assert np.all(np.diff(v[below]) > 0)
    assert v[-1] == pytest.approx(1.0, abs=1e-6)
    assert v[0] < 1e-3  # black stays (near) black
    assert float(np.asarray(HELDOUT_TMOS[name](np.zeros(3)))[0]) == 0.0


@pytest.mark.parametrize("cd, exposure", [(203.0, 0.8), (100.0, 0.8), (1000.0, 0.8), (203.0, 0.5)])
def test_aces_known_values_from_the_formula(cd, exposure):
    x = exposure * cd / 203.0
    want = min(narkowicz(x), 1.0)
    got = aces_filmic(np.full(3, cd), exposure=exposure)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_aces_reference_white_by_hand():
    # x = 0.8: 0.8 (2.51 * 0.8 + 0.03) / (0.8 (2.43 * 0.8 + 0.59) + 0.14) = 1.6304 / 2.1672
    assert float(aces_filmic(np.full(3, 203.0))[0]) == pytest.approx(1.6304 / 2.1672, abs=1e-12)
    # and the curve crosses 1.0 where 0.08 x^2 - 0.56 x - 0.14 = 0, x = 7.24: above that it is clipped
    x1 = (0.56 + np.sqrt(0.56 ** 2 + 4 * 0.08 * 0.14)) / (2 * 0.08)
    cd1 = x1 * 203.0 / 0.8
    assert float(aces_filmic(np.full(3, 0.98 * cd1))[0]) < 1.0
    assert float(aces_filmic(np.full(3, 1.02 * cd1))[0]) == 1.0


def test_log_shoulder_known_values_on_grey():
    k, Lw = 12.0, 2000.0 / 203.0
    for cd in (20.0, 203.0, 1000.0):
        L = cd / 203.0
        want = np.log1p(k * L) / np.log1p(k * Lw)
        assert float(log_shoulder(np.full(3, cd))[0]) == pytest.approx(want, rel=1e-12)
    # `white` lands on 1.0 and above it stays there
    assert float(log_shoulder(np.full(3, 2000.0))[0]) == pytest.approx(1.0, abs=1e-12)
    assert float(log_shoulder(np.full(3, 5000.0))[0]) == 1.0
    assert float(log_shoulder(np.full(3, 1000.0), white=1000.0)[0]) == pytest.approx(1.0, abs=1e-12)


def _hue_ratio(rgb):
    """(R - G) / (R - B): unchanged by scaling and by mixing with grey, changed by a per-channel curve."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return (rgb[..., 0] - rgb[..., 1]) / (rgb[..., 0] - rgb[..., 2])


@pytest.mark.parametrize("cd", [300.0, 1000.0, 3000.0])
def test_aces_per_channel_shifts_the_hue_of_a_saturated_highlight(cd):
    orange = cd * np.array([1.0, 0.35, 0.05])
    out = aces_filmic(orange)
    # each channel goes through the curve on its own
    for c in range(3):
        assert out[c] == pytest.approx(float(aces_filmic(np.full(3, orange[c]))[0]), rel=1e-12)
    assert abs(_hue_ratio(out) - _hue_ratio(orange)) > 0.1


def test_aces_highlight_goes_to_white():
    spread = [float(np.ptp(aces_filmic(cd * np.array([1.0, 0.35, 0.05])))) for cd in (300.0, 3000.0, 30000.0)]
    assert spread[0] > spread[1] > spread[2]
    assert spread[2] < 0.2


def test_log_shoulder_keeps_hue_and_desaturates_highlights():
    orange = np.array([1.0, 0.35, 0.05])
    sat = []
    for cd in (20.0, 203.0, 1000.0, 1900.0):
        out = log_shoulder(cd * orange)
        # mixing with grey and scaling leave (R - G) / (R - B) alone: no hue shift, unlike ACES
        assert _hue_ratio(out) == pytest.approx(_hue_ratio(orange), rel=1e-9)
        # luminance follows the grey curve
        L = float(np.asarray(luminance(out, "bt2020")).item())
        L_in = float(np.asarray(luminance(cd * orange, "bt2020")).item())
        assert L == pytest.approx(float(log_shoulder(np.full(3, L_in))[0]), rel=1e-9)
        sat.append(1 - out.min() / out.max())
    assert sat[0] > sat[1] > sat[2] > sat[3]  # brighter -> less saturated
    assert sat[0] == pytest.approx(1 - orange.min() / orange.max(), abs=0.01)  # shadows keep their colour


def test_log_shoulder_desaturation_zero_keeps_colour_ratios():
    orange = 800.0 * np.array([1.0, 0.35, 0.05])
    out = log_shoulder(orange, desaturation=0.0)
    np.testing.assert_allclose(out / out[0], orange / orange[0], rtol=1e-9)


@pytest.mark.parametrize("name", CURVES)
def test_luminance_of_colours_stays_in_0_1(name):
    rng = np.random.default_rng(3)
    hdr = rng.uniform(0, 1, (64, 64, 3)) ** 3 * 4000.0
    hdr[:4] = 0.0  # black pixels stay black
    assert np.all(np.asarray(HELDOUT_TMOS[name](hdr))[:4] == 0.0)
    L = np.asarray(luminance(HELDOUT_TMOS[name](hdr), "bt2020"))
    assert L.min() >= 0.0 and L.max() <= 1.0 + 1e-9


@pytest.mark.parametrize("name", CURVES)
def test_torch_nchw_equals_numpy_hwc(name):
    rng = np.random.default_rng(4)
    x = (rng.uniform(0, 1, (2, 24, 20, 3)) ** 3 * 5000.0).astype(np.float64)
    x[0, :2] = 0.0  # black pixels take the guarded branches
    want = np.asarray(HELDOUT_TMOS[name](x))
    t = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    got = HELDOUT_TMOS[name](t)
    assert isinstance(got, torch.Tensor) and got.shape == t.shape and got.dtype == torch.float64
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).numpy(), want, rtol=1e-10, atol=1e-12)
    got32 = HELDOUT_TMOS[name](t.float())
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.permute(0, 2, 3, 1).numpy(), want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", CURVES)
def test_torch_gradient_is_finite_at_black(name):
    x = torch.tensor([[0.0, 0.0, 0.0], [50.0, 20.0, 5.0], [3000.0, 800.0, 10.0]], dtype=torch.float64,
                     requires_grad=True)
    HELDOUT_TMOS[name](x, axis=-1).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_agx_like_grey_white_and_highlights():
    """Grey card (26 cd/m2) lands mid-scale, the curve rises monotonically to 1, a saturated highlight goes to
    white rather than to its primary (the inset), numpy and torch agree."""
    levels = np.array([0.0, 0.26, 2.6, 26.0, 203.0, 1000.0, 4000.0])
    grey = agx_like(np.repeat(levels[:, None], 3, 1))[:, 0]
    assert grey[0] == pytest.approx(0.0, abs=1e-4) and np.all(np.diff(grey) >= 0) and grey[-1] == pytest.approx(1.0)
    assert 0.15 < grey[3] < 0.4  # 18 % grey in display light
    red = agx_like(np.array([[4000.0, 400.0, 200.0], [40.0, 4.0, 2.0]]))
    assert red[0].min() / red[0].max() > 0.8 > red[1].min() / red[1].max()
    x = np.random.default_rng(0).random((2, 5, 3)).astype(np.float32) * 800
    t = agx_like(torch.from_numpy(x).permute(2, 0, 1), axis=-3).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t, agx_like(x), atol=1e-5)
