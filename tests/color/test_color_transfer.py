"""Transfer functions: known values from the standards, colour-science on random inputs, torch parity and gradients."""

import colour
import numpy as np
import pytest
import torch
from colour.models.rgb.transfer_functions import itur_bt_2100, st_2084

from sdr2hdr.color import (
    bt709_inverse_oetf,
    bt709_oetf,
    bt1886_eotf,
    bt1886_inverse_eotf,
    encode_ycbcr,
    hlg_eotf,
    hlg_inverse_oetf,
    hlg_oetf,
    hlg_ootf,
    hlg_system_gamma,
    pq_eotf,
    pq_inverse_eotf,
    transfer,
)

RNG = np.random.default_rng(20240601)


def test_pq_constants_are_colour_sciences():
    """ST 2084's m1, m2, c1, c2, c3 are exact binary fractions: equal to colour-science's, not merely close."""
    ref = st_2084.CONSTANTS_ST2084
    ours = (transfer.PQ_M1, transfer.PQ_M2, transfer.PQ_C1, transfer.PQ_C2, transfer.PQ_C3)
    assert ours == (ref.m_1, ref.m_2, ref.c_1, ref.c_2, ref.c_3)


def test_pq_inverse_eotf_known_values():
    E = pq_inverse_eotf(np.array([100.0, 203.0, 1000.0, 10000.0]))
    np.testing.assert_allclose(E, [0.5080784, 0.5806889, 0.7518271, 1.0], atol=5e-8)


def test_pq_known_values_as_10bit_narrow_codes():
    E = pq_inverse_eotf(np.array([100.0, 203.0, 1000.0, 10000.0]))
    grey = np.stack([E, np.zeros(4), np.zeros(4)], axis=-1)
    assert encode_ycbcr(grey, bits=10)[:, 0].tolist() == [509, 573, 723, 940]


def test_pq_matches_colour_science():
    E = RNG.random(5000)
    np.testing.assert_allclose(pq_eotf(E), colour.models.eotf_ST2084(E), rtol=1e-12, atol=1e-12)
    L = 10 ** RNG.uniform(-4, 4, 5000)
    np.testing.assert_allclose(pq_inverse_eotf(L), colour.models.eotf_inverse_ST2084(L), rtol=1e-12, atol=1e-14)


def test_pq_round_trip_and_clipping():
    L = np.array([0.0, 1e-3, 0.1, 100.0, 4000.0, 10000.0])
    np.testing.assert_allclose(pq_eotf(pq_inverse_eotf(L)), L, rtol=1e-10, atol=1e-12)
    # PQ(0) is c1^m2 (7.3e-7), not 0; negatives clip to it.
    assert pq_inverse_eotf(np.array([-5.0]))[0] == pq_inverse_eotf(np.array([0.0]))[0] == pytest.approx(7.3095590e-7)
    assert pq_inverse_eotf(np.array([20000.0]))[0] == 1.0
    assert pq_eotf(np.array([0.0]))[0] == 0.0
    assert pq_eotf(np.array([1.5]))[0] == pytest.approx(10000.0)


def test_pq_float32_keeps_dtype_and_precision():
    L = (10 ** RNG.uniform(-3, 4, (64, 64, 3))).astype(np.float32)
    E = pq_inverse_eotf(L)
    assert E.dtype == np.float32
    # float32 carries PQ to about 1e-5, a hundredth of a 10-bit code.
    np.testing.assert_allclose(E, colour.models.eotf_inverse_ST2084(L.astype(np.float64)), atol=3e-5)
    assert pq_eotf(E).dtype == np.float32


def test_hlg_oetf_known_values():
    np.testing.assert_allclose(hlg_oetf(np.array([1 / 12, 0.5, 1.0])), [0.5, 0.8716435, 1.0], atol=5e-8)


def test_hlg_constants_are_colour_sciences_and_bt2100s():
    ref = itur_bt_2100.CONSTANTS_BT2100_HLG
    assert transfer.HLG_A == ref.a
    # BT.2100 publishes b and c rounded to 8 decimals (0.28466892, 0.55991073); colour-science computes c
    assert transfer.HLG_B == pytest.approx(ref.b, abs=5e-9) and transfer.HLG_B == pytest.approx(0.28466892, abs=5e-9)
    assert transfer.HLG_C == pytest.approx(ref.c, abs=1e-15) and transfer.HLG_C == pytest.approx(0.55991073, abs=5e-9)


@pytest.mark.parametrize("Lw", [100.0, 400.0, 1000.0, 1500.0, 2000.0, 4000.0])
def test_hlg_system_gamma_is_colour_sciences(Lw):
    assert hlg_system_gamma(Lw) == pytest.approx(itur_bt_2100.gamma_function_BT2100_HLG(Lw), abs=1e-10)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")  # inside colour
def test_hlg_oetf_and_inverse_match_colour_science():
    E = RNG.random(5000)
    np.testing.assert_allclose(hlg_oetf(E), colour.models.oetf_BT2100_HLG(E), atol=1e-12)
    np.testing.assert_allclose(hlg_inverse_oetf(E), colour.models.oetf_inverse_BT2100_HLG(E), atol=1e-12)
    np.testing.assert_allclose(hlg_inverse_oetf(hlg_oetf(E)), E, atol=1e-12)


@pytest.mark.parametrize("Lw, Lb", [(1000.0, 0.0), (2000.0, 0.5), (400.0, 0.01)])
def test_hlg_ootf_and_eotf_match_colour_science(Lw, Lb):
    E = RNG.random((500, 3))
    np.testing.assert_allclose(hlg_ootf(E, Lw=Lw, Lb=Lb), colour.models.ootf_BT2100_HLG(E, Lb, Lw), rtol=1e-10)
    np.testing.assert_allclose(hlg_eotf(E, Lw=Lw, Lb=Lb), colour.models.eotf_BT2100_HLG(E, Lb, Lw), rtol=1e-10,
                               atol=1e-10)


def test_hlg_eotf_peak_white_is_lw():
    np.testing.assert_allclose(hlg_eotf(np.ones(3), Lw=1000.0), [1000.0] * 3)


@pytest.mark.parametrize("Lw, Lb", [(100.0, 0.0), (100.0, 0.1), (300.0, 0.05)])
def test_bt1886_matches_colour_science(Lw, Lb):
    V = RNG.random(2000)
    np.testing.assert_allclose(bt1886_eotf(V, Lw, Lb), colour.models.eotf_BT1886(V, Lb, Lw), rtol=1e-12)
    L = RNG.uniform(Lb, Lw, 2000)
    np.testing.assert_allclose(bt1886_inverse_eotf(L, Lw, Lb), colour.models.eotf_inverse_BT1886(L, Lb, Lw),
                               atol=1e-12)


def test_bt1886_white_black_and_clip():
    assert bt1886_eotf(1.0) == pytest.approx(100.0)
    assert bt1886_eotf(0.0, Lb=0.1) == pytest.approx(0.1)
    assert bt1886_inverse_eotf(-1.0) == 0.0
    assert bt1886_inverse_eotf(500.0) == 1.0


def test_bt709_oetf_matches_colour_science():
    L = RNG.random(5000)
    np.testing.assert_allclose(bt709_oetf(L), colour.models.oetf_BT709(L), atol=1e-14)
    np.testing.assert_allclose(bt709_inverse_oetf(L), colour.models.oetf_inverse_BT709(L), atol=1e-14)
    np.testing.assert_allclose(bt709_inverse_oetf(bt709_oetf(L)), L, atol=1e-12)


NUMPY_TORCH_CASES = [
    (pq_eotf, {}, 1.0),
    (pq_inverse_eotf, {}, 10000.0),
    (hlg_oetf, {}, 1.0),
    (hlg_inverse_oetf, {}, 1.0),
    (bt1886_eotf, {"Lb": 0.1}, 1.0),
    (bt1886_inverse_eotf, {}, 100.0),
    (bt709_oetf, {}, 1.0),
    (bt709_inverse_oetf, {}, 1.0),
]


@pytest.mark.parametrize("fn, kwargs, scale", NUMPY_TORCH_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_torch_matches_numpy(fn, kwargs, scale):
    x = RNG.random((2, 3, 5, 7)) * scale
    got = fn(torch.from_numpy(x), **kwargs)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), fn(x, **kwargs), rtol=1e-12, atol=1e-12)
    assert fn(torch.from_numpy(x).float(), **kwargs).dtype == torch.float32


def test_hlg_ootf_eotf_torch_nchw_matches_numpy_hwc():
    x = RNG.random((2, 3, 4, 5))
    hwc = np.moveaxis(x, 1, -1)
    for fn in (hlg_ootf, hlg_eotf):
        got = fn(torch.from_numpy(x), Lw=1500.0, Lb=0.02)
        np.testing.assert_allclose(np.moveaxis(got.numpy(), 1, -1), fn(hwc, Lw=1500.0, Lb=0.02), rtol=1e-12)


def test_pq_gradcheck_float64():
    E = torch.rand(2, 3, 4, 4, dtype=torch.float64) * 0.9 + 0.05
    assert torch.autograd.gradcheck(pq_eotf, (E.requires_grad_(),))
    L = torch.rand(2, 3, 4, 4, dtype=torch.float64) * 5000 + 0.01
    assert torch.autograd.gradcheck(pq_inverse_eotf, (L.requires_grad_(),))


def test_pq_gradient_is_finite_at_zero_and_at_clip():
    L = torch.tensor([0.0, -1.0, 50.0, 20000.0], dtype=torch.float64, requires_grad=True)
    pq_inverse_eotf(L).sum().backward()
    assert torch.isfinite(L.grad).all()
    E = torch.tensor([0.0, 1e-8, 0.5, 1.0], dtype=torch.float64, requires_grad=True)
    pq_eotf(E).sum().backward()
    assert torch.isfinite(E.grad).all()
