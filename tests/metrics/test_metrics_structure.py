"""SSIM and MS-SSIM equal piq's own functions given the right data range, and a wrong range is caught by the values."""

import warnings

import numpy as np
import piq
import pytest
import torch

from sdr2hdr.metrics import ms_ssim, ms_ssim_scales, ssim


def test_ssim_equals_piq_with_explicit_data_range(pq_scene, degrade):
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.05)
    want = piq.ssim(pred, ref, data_range=1.0, reduction="none")
    torch.testing.assert_close(ssim(pred, ref), want, rtol=0, atol=0)


def test_ssim_data_range_trap_changes_the_value(pq_scene, degrade):
    # The trap: scoring [0, 1] data as if its range were 255 (or skimage's float default of 2) inflates SSIM,
    # because C1 and C2 grow with the range squared and swamp the image statistics.
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.05)
    right, wrong = ssim(pred, ref, data_range=1.0), ssim(pred, ref, data_range=255.0)
    assert torch.all(wrong - right > 0.05)
    # and the same images in 10-bit codes with the matching range give the right value back
    torch.testing.assert_close(ssim(pred * 1023, ref * 1023, data_range=1023.0), right, rtol=1e-5, atol=1e-6)


def test_ssim_of_identical_images_is_one(pq_scene):
    ref = pq_scene(1, 32)
    assert float(ssim(ref, ref)[0]) == pytest.approx(1.0, abs=1e-6)


def test_ssim_refuses_images_smaller_than_its_window():
    x = torch.rand(1, 3, 10, 40)
    with pytest.raises(ValueError, match="11x11"):
        ssim(x, x)


@pytest.mark.parametrize("short, scales", [(161, 5), (160, 4), (81, 4), (80, 3), (41, 3), (40, 2), (21, 2),
                                           (20, 1), (11, 1), (10, 0)])
def test_ms_ssim_scale_count_follows_the_window_size(short, scales):
    assert ms_ssim_scales(short, 400) == scales
    assert ms_ssim_scales(400, short) == scales


def test_ms_ssim_equals_piq_on_161_px_with_five_scales_and_no_warning(pq_scene, degrade):
    ref = pq_scene(2, 161)
    pred = degrade(ref, 0.05)
    want = piq.multi_scale_ssim(pred, ref, data_range=1.0, reduction="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ms_ssim(pred, ref)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert torch.all(ms_ssim(pred, ref, data_range=255.0) - got > 0.01)


def test_ms_ssim_on_small_images_uses_fewer_renormalised_scales_and_warns(pq_scene, degrade):
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.05)
    with pytest.warns(UserWarning, match="3 scales"):
        got = ms_ssim(pred, ref)
    w = torch.tensor([0.0448, 0.2856, 0.3001])
    want = piq.multi_scale_ssim(pred, ref, data_range=1.0, reduction="none", scale_weights=w / w.sum())
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    # a 64 px image cannot be scored with 5 scales: piq itself refuses it
    with pytest.raises(ValueError):
        piq.multi_scale_ssim(pred, ref, data_range=1.0)
    with pytest.raises(ValueError, match="supports 1 to 3"):
        ms_ssim(pred, ref, scales=5)


def test_ms_ssim_refuses_images_below_one_window():
    x = torch.rand(1, 3, 10, 10)
    with pytest.raises(ValueError, match="11x11"):
        ms_ssim(x, x)


def test_structure_metrics_clip_out_of_range_predictions_instead_of_failing(pq_scene):
    ref = pq_scene(1, 64)
    pred = ref * 1.2 - 0.05  # overshoots both ends, as an unclamped network output can
    torch.testing.assert_close(ssim(pred, ref), ssim(pred.clamp(0, 1), ref))


def test_ssim_accepts_numpy_hwc(pq_scene, degrade):
    ref = pq_scene(1, 32, dtype=torch.float64)
    pred = degrade(ref, 0.05)
    got = ssim(pred[0].permute(1, 2, 0).numpy(), ref[0].permute(1, 2, 0).numpy())
    np.testing.assert_allclose(got, ssim(pred, ref)[0].numpy(), rtol=1e-12)
