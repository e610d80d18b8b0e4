"""ICtCp and Delta E ITP: BT.2100 / BT.2124 known values, colour-science on random inputs, torch and gradients."""

import colour
import numpy as np
import pytest
import torch

from sdr2hdr.color import delta_e_itp, delta_e_itp_pq, ictcp, ictcp_to_rgb2020, pq_inverse_eotf, rgb2020_to_ictcp

RNG = np.random.default_rng(11)


def test_ictcp_matrices_are_bt2100_table7():
    np.testing.assert_array_equal(ictcp.RGB2020_TO_LMS * 4096, [[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]])
    np.testing.assert_array_equal(
        ictcp.LMS_P_TO_ICTCP * 4096, [[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]]
    )


def test_ictcp_known_value():
    got = rgb2020_to_ictcp(np.array([0.45620519, 0.03081071, 0.04091952]))
    np.testing.assert_allclose(got, [0.07351364, 0.00475253, 0.09351596], atol=5e-9)


def test_delta_e_itp_known_value():
    a = np.array([0.4885468072, -0.04739350675, 0.07475401302])
    b = np.array([0.4899203231, -0.04567508203, 0.07361341775])
    assert float(delta_e_itp(a, b)) == pytest.approx(1.42657228, abs=1e-8)


def test_delta_e_itp_grey_100_vs_101():
    a = pq_inverse_eotf(np.full(3, 100.0))
    b = pq_inverse_eotf(np.full(3, 101.0))
    assert float(delta_e_itp_pq(a, b)) == pytest.approx(0.7193, abs=5e-5)


def test_ictcp_matches_colour_science():
    rgb = 10 ** RNG.uniform(-3, 4, (500, 3))
    ref = colour.RGB_to_ICtCp(rgb, method="ITU-R BT.2100-2 PQ")
    np.testing.assert_allclose(rgb2020_to_ictcp(rgb), ref, atol=1e-12)
    np.testing.assert_allclose(ictcp_to_rgb2020(ref), colour.ICtCp_to_RGB(ref, method="ITU-R BT.2100-2 PQ"),
                               rtol=1e-9, atol=1e-7)
    # cancellation against kilo-nit companions in the same pixel leaves ~1e-9 cd/m2
    np.testing.assert_allclose(ictcp_to_rgb2020(ref), rgb, rtol=1e-9, atol=1e-7)


def test_delta_e_itp_matches_colour_science():
    a = rgb2020_to_ictcp(RNG.random((500, 3)) * 1000)
    b = rgb2020_to_ictcp(RNG.random((500, 3)) * 1000)
    np.testing.assert_allclose(delta_e_itp(a, b), colour.delta_E(a, b, method="ITP"), rtol=1e-12)


def test_delta_e_itp_torch_nchw_matches_numpy_and_drops_channel_axis():
    pa, pb = RNG.random((2, 2, 3, 4, 5)) * 0.8
    got = delta_e_itp_pq(torch.from_numpy(pa), torch.from_numpy(pb))
    assert got.shape == (2, 4, 5)
    ref = delta_e_itp_pq(np.moveaxis(pa, 1, -1), np.moveaxis(pb, 1, -1))
    assert ref.shape == (2, 4, 5)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)
    assert float(delta_e_itp_pq(pa, pa, axis=1).max()) == 0.0


def test_ictcp_gradcheck_float64():
    rgb = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 500 + 1).requires_grad_()
    assert torch.autograd.gradcheck(rgb2020_to_ictcp, (rgb,))
    pa = (torch.rand(1, 3, 2, 3, dtype=torch.float64) * 0.6 + 0.1).requires_grad_()
    pb = (torch.rand(1, 3, 2, 3, dtype=torch.float64) * 0.6 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(delta_e_itp_pq, (pa, pb))


def test_delta_e_gradient_is_finite_for_identical_colours():
    p = torch.full((1, 3, 2, 2), 0.5, dtype=torch.float64, requires_grad=True)
    delta_e_itp_pq(p, p.detach()).sum().backward()
    assert torch.isfinite(p.grad).all()
