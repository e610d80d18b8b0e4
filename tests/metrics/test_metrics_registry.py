"""The registry: every metric is listed with its direction and unit, batched values equal single-image calls."""

import math

import numpy as np
import pytest
import torch

from sdr2hdr.metrics import METRICS, PAPER_METRICS, compute_all, summarise


def test_registry_lists_every_metric_of_the_papers_with_direction_and_unit():
    assert set(PAPER_METRICS) <= set(METRICS)
    assert {"psnr", "mse", "ssim", "ms_ssim", "delta_e_itp", "mpsnr", "vifp", "haarpsi", "vsi", "cvvdp"} == set(METRICS)
    lower_better = {n for n, m in METRICS.items() if not m.higher_is_better}
    assert lower_better == {"mse", "delta_e_itp"}
    assert METRICS["psnr"].units == "dB" and METRICS["cvvdp"].units == "JOD"


def test_compute_all_per_image_values_equal_single_image_calls(pq_scene, degrade):
    # 161 px: the smallest size every metric takes at its standard setting (MS-SSIM's five scales)
    ref = pq_scene(2, 161, seed=3)
    pred = torch.stack([degrade(ref[0], 0.02), degrade(ref[1], 0.06, seed=2)])
    batch = compute_all(pred, ref)
    assert set(batch) == set(METRICS)
    for name, values in batch.items():
        assert values.shape == (2,), name
        for i in range(2):
            single = METRICS[name](pred[i:i + 1], ref[i:i + 1])
            torch.testing.assert_close(values[i:i + 1], single, rtol=1e-5, atol=1e-6, msg=name)
    # the noisier second image is worse by every metric, in that metric's own direction
    for name, values in batch.items():
        better, worse = float(values[0]), float(values[1])
        assert (better > worse) if METRICS[name].higher_is_better else (better < worse), name


def test_compute_all_chosen_names_and_numpy_in_numpy_out(pq_scene, degrade):
    ref = pq_scene(2, 48, dtype=torch.float64)
    pred = degrade(ref, 0.02)
    got = compute_all(pred.permute(0, 2, 3, 1).numpy(), ref.permute(0, 2, 3, 1).numpy(), names=["psnr", "delta_e_itp"])
    assert list(got) == ["psnr", "delta_e_itp"]
    assert all(isinstance(v, np.ndarray) and v.shape == (2,) for v in got.values())


def test_compute_all_refuses_an_unknown_name_before_computing():
    with pytest.raises(KeyError, match="psnrr"):
        compute_all(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), names=["psnr", "psnrr"])


def test_summarise_ignores_undefined_images_and_keeps_infinite_psnr():
    summary = summarise({"vsi": torch.tensor([0.9, float("nan"), 0.7]), "psnr": torch.tensor([30.0, math.inf])})
    assert summary["vsi"] == pytest.approx(0.8)
    assert math.isinf(summary["psnr"])


def test_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        METRICS["psnr"](torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
