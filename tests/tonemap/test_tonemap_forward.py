"""Forward TMOs (HDR -> SDR for training data): BT.2446 A/C figures, BT.2390 EETF shape, Hable, Reinhard, camera."""

import doctest

import numpy as np
import pytest
import torch

from sdr2hdr.color import luminance, pq_inverse_eotf
from sdr2hdr.tonemap import (
    FORWARD_TMOS,
    bt2390_eetf,
    bt2446a_forward,
    bt2446a_forward_luma,
    bt2446c_forward,
    camera_model,
    eetf_to_sdr,
    forward,
    hable,
    reinhard,
)

RNG = np.random.default_rng(9)


def grey(cd):
    return np.full(3, float(cd))


# --- BT.2446 Method A ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cd, y_sdr", [(203.0, 0.68686), (100.0, 0.53875), (1000.0, 1.0)])
def test_bt2446a_forward_grey_known_values(cd, y_sdr):
    assert float(bt2446a_forward_luma((cd / 1000) ** (1 / 2.4))) == pytest.approx(y_sdr, abs=1e-5)
    # On grey the colour correction is inert: display light is Y'sdr^2.4.
    out = bt2446a_forward(grey(cd))
    np.testing.assert_allclose(out ** (1 / 2.4), y_sdr, atol=1e-5)


def test_bt2446a_knee_is_continuous():
    qa, qb, qc = forward.A_KNEE_QUAD
    k1, k2 = forward.A_KNEE_1, forward.A_KNEE_2
    assert forward.A_KNEE_SLOPE * k1 == pytest.approx(qa * k1**2 + qb * k1 + qc, abs=1e-3)
    assert 0.5 * k2 + 0.5 == pytest.approx(qa * k2**2 + qb * k2 + qc, abs=1e-3)


def test_bt2446a_forward_range_and_monotonic():
    cd = np.linspace(0, 1000, 500)
    y = bt2446a_forward_luma((cd / 1000) ** (1 / 2.4))
    assert np.all(np.diff(y) > 0) and y[0] == 0.0 and y[-1] == pytest.approx(1.0)
    out = bt2446a_forward(RNG.random((32, 32, 3)) * 1200)
    assert out.min() >= 0 and out.max() <= 1


def test_bt2446a_forward_lhdr_scales_the_input():
    assert bt2446a_forward(grey(4000.0), Lhdr=4000.0)[0] == pytest.approx(1.0)


# --- BT.2446 Method C ---------------------------------------------------------------------------------------

def test_bt2446c_forward_known_values():
    np.testing.assert_allclose(bt2446c_forward(np.stack([grey(1000.0), grey(203.0)])),
                               [[1.18387] * 3, [0.90664] * 3], atol=5e-6)


def test_bt2446c_forward_keeps_chromaticity_and_handles_black():
    hdr = RNG.random((50, 3)) * 2000
    out = bt2446c_forward(hdr, alpha=0.05)
    ratio = out / hdr
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(3, axis=1), rtol=1e-10)
    np.testing.assert_array_equal(bt2446c_forward(np.zeros(3)), 0.0)


# --- BT.2390 EETF ----------------------------------------------------------------------------------------------

def test_bt2390_maps_source_white_to_target_white_and_keeps_the_low_end():
    pq = np.linspace(0, 1, 2001)
    out = bt2390_eetf(pq, 0.0, 10000.0, 0.0, 1000.0)
    assert out[-1] == pytest.approx(float(pq_inverse_eotf(1000.0)), abs=1e-12)
    assert np.all(np.diff(out) >= -1e-15)
    ks = 1.5 * float(pq_inverse_eotf(1000.0)) - 0.5
    low = pq < ks
    # PQ(0 cd/m2) is 7.3e-7, so code 0 sits just below the source black and comes out as that black.
    np.testing.assert_allclose(out[low], pq[low], atol=1e-6)
    np.testing.assert_allclose(out[low][1:], pq[low][1:], atol=1e-15)


def test_bt2390_knee_is_c1_continuous():
    lw = float(pq_inverse_eotf(1000.0))
    ks = 1.5 * float(pq_inverse_eotf(100.0)) / lw - 0.5  # normalised knee start for 1000 -> 100
    e = ks * lw
    h = 1e-7
    below, at, above = bt2390_eetf(np.array([e - h, e, e + h]), 0.0, 1000.0, 0.0, 100.0)
    assert at == pytest.approx(e, abs=1e-12)
    assert (above - at) / h == pytest.approx(1.0, abs=1e-4)
    assert (at - below) / h == pytest.approx(1.0, abs=1e-6)


def test_bt2390_black_lift_and_identity_when_target_covers_source():
    out = bt2390_eetf(np.array([0.0]), 0.0, 1000.0, 0.1, 100.0)
    assert float(out[0]) == pytest.approx(float(pq_inverse_eotf(0.1)), abs=1e-12)
    pq = RNG.random(100) * float(pq_inverse_eotf(1000.0))
    np.testing.assert_allclose(bt2390_eetf(pq, 0.0, 1000.0, 0.0, 4000.0), pq, atol=1e-15)


def test_eetf_to_sdr_range_and_modes():
    hdr = RNG.random((40, 3)) * 1000
    for mode in ("rgb", "maxrgb"):
        out = eetf_to_sdr(hdr, mode=mode)
        assert out.min() >= 0 and out.max() <= 1 + 1e-12
    assert eetf_to_sdr(grey(1000.0))[0] == pytest.approx(1.0)
    assert eetf_to_sdr(grey(1.0))[0] == pytest.approx(0.01)  # below the knee: unchanged light
    sat = eetf_to_sdr(np.array([900.0, 300.0, 30.0]), mode="maxrgb")
    np.testing.assert_allclose(sat / sat[0], [1.0, 1 / 3, 1 / 30])
    with pytest.raises(ValueError):
        eetf_to_sdr(hdr, mode="ictcp")


# --- Hable, Reinhard ---------------------------------------------------------------------------------------

def test_hable_white_black_and_monotonic():
    cd = np.linspace(0, 1000, 300)
    out = hable(cd)
    assert out[0] == pytest.approx(0.0, abs=1e-12) and out[-1] == pytest.approx(1.0)
    assert np.all(np.diff(out) > 0)
    assert hable(np.array(2000.0), white=2000.0) == pytest.approx(1.0)


def test_reinhard_white_and_hue():
    assert reinhard(grey(1000.0))[0] == pytest.approx(1.0)
    assert reinhard(np.zeros(3))[0] == 0.0
    c = np.array([500.0, 200.0, 50.0])
    out = reinhard(c)
    np.testing.assert_allclose(out / out[0], c / c[0])
    assert float(luminance(out)[0]) < float(luminance(c / 203.0)[0])


# --- camera model (KPNet eq. 1) -----------------------------------------------------------------------------

def test_camera_model_is_linear_then_saturates():
    cd = np.array([0.0, 50.0, 101.5, 203.0, 5000.0])
    out = camera_model(cd, exposure=2.0, gain=4.0)
    np.testing.assert_allclose(out, [0.0, 50 / 406, 0.25, 0.5, 1.0])  # t/g = 0.5, phi = cd / 203
    np.testing.assert_allclose(camera_model(cd, 1.0, 1.0, clip_level=0.8, offset=0.1),
                               np.minimum(cd / 203 + 0.1, 0.8))
    np.testing.assert_allclose(camera_model(cd, 1.0, 1.0, gamma=2.2), np.minimum(cd / 203, 1) ** (2.4 / 2.2))


def test_camera_model_noise_is_seeded_and_has_the_asked_sigma():
    cd = np.full((200, 200, 3), 101.5)
    a = camera_model(cd, noise_sigma=0.02, generator=np.random.default_rng(1))
    b = camera_model(cd, noise_sigma=0.02, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.std() == pytest.approx(0.02, rel=0.05) and a.mean() == pytest.approx(0.5, abs=1e-3)
    t = torch.full((1, 3, 100, 100), 101.5)
    ta = camera_model(t, noise_sigma=0.02, generator=torch.Generator().manual_seed(3))
    tb = camera_model(t, noise_sigma=0.02, generator=torch.Generator().manual_seed(3))
    assert torch.equal(ta, tb) and float(ta.std()) == pytest.approx(0.02, rel=0.1)


# --- all operators -------------------------------------------------------------------------------------------

def test_registry_names():
    assert set(FORWARD_TMOS) == {"bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera"}


@pytest.mark.parametrize("name", sorted(FORWARD_TMOS))
def test_operator_torch_nchw_batched_matches_numpy_hwc(name):
    fn = FORWARD_TMOS[name]
    x = RNG.random((2, 3, 6, 7)) * 1500
    got = fn(torch.from_numpy(x))
    assert isinstance(got, torch.Tensor) and got.shape == x.shape
    ref = np.stack([fn(np.moveaxis(img, 0, -1)) for img in x])
    np.testing.assert_allclose(np.moveaxis(got.numpy(), 1, -1), ref, rtol=1e-10, atol=1e-12)
    assert fn(torch.from_numpy(x).float()).dtype == torch.float32
    assert fn(np.moveaxis(x, 1, -1).astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("name", sorted(FORWARD_TMOS))
def test_operator_output_is_sdr_relative(name):
    out = FORWARD_TMOS[name](RNG.random((16, 16, 3)) * 1000)
    assert np.all(np.isfinite(out)) and out.min() >= 0
    if name in ("bt2446c", "reinhard"):
        # Both map luminance and keep chromaticity, so saturated channels may pass 1 (the gamut clip follows);
        # Method C also keeps super-whites: 1000 cd/m2 -> 1.18.
        assert float(luminance(out).max()) <= (1.184 if name == "bt2446c" else 1.0)
    else:
        assert out.max() <= 1.0 + 1e-9


def test_doctests_pass():
    assert doctest.testmod(forward, extraglobs={"np": np}).failed == 0
