"""Mean Delta E ITP per image against colour-science's ST 2084 EOTF, BT.2100 ICtCp and ITP difference."""

import colour
import numpy as np
import pytest
import torch

from sdr2hdr.color import pq_inverse_eotf
from sdr2hdr.metrics import delta_e_itp

RNG = np.random.default_rng(5)


def _colour_science_mean_itp(pred_nhwc: np.ndarray, ref_nhwc: np.ndarray) -> np.ndarray:
    ictcp = [colour.RGB_to_ICtCp(colour.models.eotf_ST2084(x), method="ITU-R BT.2100-2 PQ")
             for x in (pred_nhwc, ref_nhwc)]
    return colour.delta_E(ictcp[0], ictcp[1], method="ITP").reshape(len(pred_nhwc), -1).mean(1)


def test_delta_e_itp_matches_colour_science_on_random_images():
    ref = RNG.uniform(0.0, 0.9, (3, 24, 24, 3))
    pred = np.clip(ref + RNG.normal(0, 0.02, ref.shape), 0, 1)
    want = _colour_science_mean_itp(pred, ref)
    got = delta_e_itp(torch.from_numpy(pred).permute(0, 3, 1, 2), torch.from_numpy(ref).permute(0, 3, 1, 2))
    assert got.shape == (3,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9)


def test_delta_e_itp_scores_float32_images_in_float64_and_returns_float32():
    ref = RNG.uniform(0.0, 0.9, (2, 24, 24, 3))
    pred = np.clip(ref + RNG.normal(0, 0.02, ref.shape), 0, 1)
    want = _colour_science_mean_itp(pred.astype(np.float32).astype(np.float64), ref.astype(np.float32))
    got = delta_e_itp(torch.from_numpy(pred).float().permute(0, 3, 1, 2),
                      torch.from_numpy(ref).float().permute(0, 3, 1, 2))
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_delta_e_itp_grey_100_vs_101_cd_is_the_documented_value():
    a = np.broadcast_to(pq_inverse_eotf(np.full(3, 100.0)), (4, 4, 3)).copy()
    b = np.broadcast_to(pq_inverse_eotf(np.full(3, 101.0)), (4, 4, 3)).copy()
    assert float(delta_e_itp(a, b)) == pytest.approx(0.7193, abs=5e-5)


def test_delta_e_itp_of_identical_images_is_zero():
    ref = torch.from_numpy(RNG.uniform(0, 1, (1, 3, 8, 8)))
    assert float(delta_e_itp(ref, ref)[0]) == 0.0
