"""PSNR, MSE and mPSNR against hand computations, including a tiny image whose mPSNR is worked out code by code."""

import math

import numpy as np
import pytest
import torch

from sdr2hdr.color import pq_inverse_eotf
from sdr2hdr.metrics import mpsnr, mse, psnr


def test_mse_and_psnr_of_a_uniform_offset_are_known():
    ref = torch.zeros(1, 3, 4, 4, dtype=torch.float64)
    pred = ref + 0.1
    assert float(mse(pred, ref)[0]) == pytest.approx(0.01, rel=1e-12)
    assert float(psnr(pred, ref)[0]) == pytest.approx(20.0, rel=1e-12)


def test_mse_and_psnr_match_numpy_per_image(pq_scene, degrade):
    ref = pq_scene(3, 32, dtype=torch.float64)
    pred = degrade(ref, 0.03)
    diff = (pred - ref).numpy()
    want_mse = (diff**2).reshape(3, -1).mean(1)
    np.testing.assert_allclose(mse(pred, ref).numpy(), want_mse, rtol=1e-12)
    np.testing.assert_allclose(psnr(pred, ref).numpy(), 10 * np.log10(1 / want_mse), rtol=1e-12)


def test_psnr_data_range_scales_with_the_signal(pq_scene, degrade):
    ref = pq_scene(2, 32, dtype=torch.float64)
    pred = degrade(ref, 0.02)
    np.testing.assert_allclose(psnr(pred * 1023, ref * 1023, data_range=1023).numpy(), psnr(pred, ref).numpy(),
                               rtol=1e-12)


def test_psnr_of_identical_images_is_infinite(pq_scene):
    ref = pq_scene(1, 16)
    assert math.isinf(float(psnr(ref, ref)[0]))


def test_numpy_hwc_input_gives_the_same_value_as_torch_nchw(pq_scene, degrade):
    ref = pq_scene(2, 32, dtype=torch.float64)
    pred = degrade(ref, 0.02)
    got = psnr(pred[0].permute(1, 2, 0).numpy(), ref[0].permute(1, 2, 0).numpy())
    assert isinstance(got, (float, np.floating)) and got == pytest.approx(float(psnr(pred, ref)[0]), rel=1e-12)
    got_batch = mse(pred.permute(0, 2, 3, 1).numpy(), ref.permute(0, 2, 3, 1).numpy())
    assert isinstance(got_batch, np.ndarray) and got_batch.shape == (2,)


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="float"):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8))


def _grey_pq(linear_values):
    """A 1x3x1xK PQ image whose pixels are greys of the given linear light (1.0 = 10000 cd/m2)."""
    pq = pq_inverse_eotf(np.asarray(linear_values, dtype=np.float64) * 10000.0)
    return torch.from_numpy(np.broadcast_to(pq, (3, len(linear_values))).copy()).reshape(1, 3, 1, -1)


def test_mpsnr_matches_a_hand_worked_example():
    # Reference greys A = 0.01 and B = 0.04 of 10000 cd/m2; the prediction gets A wrong (0.012) and B right.
    # Codes round(1023 (2^e x)^(1/2.2)), e = -3..3:
    #   A ref  49  67  92 126 173 237 325     B ref  92 126 173 237 325 445 609
    #   A pred 53  73 100 137 188 257 353
    # Reference mean / 1023: e=-3 70.5 -> 0.069 and e=-2 96.5 -> 0.094 are dropped (<= 0.1); e=-1..3 are kept.
    # MSE over 2 pixels x 3 channels, only A differs: d^2 * 3 / 6 with d = 8, 11, 15, 20, 28
    #   -> 32, 60.5, 112.5, 200, 392; mean 159.4; mPSNR = 20 log10(1023 / sqrt(159.4)).
    ref = _grey_pq([0.01, 0.04])
    pred = _grey_pq([0.012, 0.04])
    want = 20 * math.log10(1023 / math.sqrt(159.4))
    assert want == pytest.approx(38.1726295, abs=1e-7)
    assert float(mpsnr(pred, ref)[0]) == pytest.approx(want, abs=1e-9)


def test_mpsnr_dropping_no_exposure_would_change_the_value():
    # The (0.1, 0.9) selection matters: with all seven exposures the example above gives another number.
    ref = _grey_pq([0.01, 0.04])
    pred = _grey_pq([0.012, 0.04])
    all_seven = (4**2 + 6**2 + 8**2 + 11**2 + 15**2 + 20**2 + 28**2) / 2 / 7
    assert float(mpsnr(pred, ref)[0]) != pytest.approx(20 * math.log10(1023 / math.sqrt(all_seven)), abs=1e-3)


def test_mpsnr_is_nan_when_no_exposure_is_usable_and_inf_for_identical_images(pq_scene):
    black = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    assert math.isnan(float(mpsnr(black + 0.01, black)[0]))
    ref = pq_scene(1, 16, dtype=torch.float64)
    assert math.isinf(float(mpsnr(ref, ref)[0]))


def test_mpsnr_falls_as_the_error_grows(pq_scene, degrade):
    ref = pq_scene(2, 32, dtype=torch.float64)
    small, large = mpsnr(degrade(ref, 0.005), ref), mpsnr(degrade(ref, 0.05), ref)
    assert torch.all(small > large)
