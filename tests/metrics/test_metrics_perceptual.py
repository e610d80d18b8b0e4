"""VIFp, HaarPSI and VSI equal piq's functions; size limits are refused by name; a VSI NaN is reported, not averaged."""

import math
import warnings

import piq
import pytest
import torch

from sdr2hdr.metrics import haarpsi, nan_mean, perceptual, summarise, vifp, vsi


@pytest.mark.parametrize("ours, theirs", [(vifp, piq.vif_p), (haarpsi, piq.haarpsi), (vsi, piq.vsi)],
                         ids=["vifp", "haarpsi", "vsi"])
def test_perceptual_metrics_equal_piq(ours, theirs, pq_scene, degrade):
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.04)
    want = theirs(pred, ref, data_range=1.0, reduction="none")
    torch.testing.assert_close(ours(pred, ref), want, rtol=0, atol=0)
    assert torch.all(ours(ref, ref) > ours(pred, ref))


@pytest.mark.parametrize("fn, size", [(vifp, 40), (haarpsi, 15)], ids=["vifp", "haarpsi"])
def test_perceptual_metrics_refuse_images_below_their_minimum_size(fn, size):
    x = torch.rand(1, 3, size, 64)
    with pytest.raises(ValueError, match=fn.__name__):
        fn(x, x)


def test_vsi_nonfinite_result_becomes_nan_with_a_warning(monkeypatch, pq_scene, degrade):
    # piq.vsi returning NaN for one image of a batch (as reported for some sizes on other piq / torch versions):
    # the wrapper must pass NaN through for that image only, say so, and leave the other image's value intact.
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.04)
    real = piq.vsi(pred, ref, data_range=1.0, reduction="none")

    def vsi_with_nan(x, y, **kw):
        out = real.clone()
        out[1] = float("nan")
        return out

    monkeypatch.setattr(perceptual.piq, "vsi", vsi_with_nan)
    with pytest.warns(RuntimeWarning, match=r"1 of 2 images of size \(64, 64\)"):
        got = vsi(pred, ref)
    assert math.isnan(float(got[1])) and float(got[0]) == float(real[0])
    # aggregation skips the undefined image instead of returning NaN for the whole set
    assert nan_mean(got) == pytest.approx(float(real[0]))
    assert summarise({"vsi": got})["vsi"] == pytest.approx(float(real[0]))
    assert math.isnan(nan_mean(torch.tensor([float("nan")])))


# Sizes where VSI is most likely to break: degenerate and odd sides, the 256 px resampling of SDSP, the
# round(min side / 256) average-pool kernel changing at 384 and 641 px.
@pytest.mark.parametrize("h, w", [(1, 1), (2, 7), (7, 2), (31, 17), (255, 257), (383, 384), (641, 642)])
def test_vsi_is_finite_on_awkward_sizes_with_this_piq(h, w):
    g = torch.Generator().manual_seed(h * 1000 + w)
    ref = torch.rand(2, 3, h, w, generator=g)
    pred = (ref + 0.05 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = vsi(torch.cat([pred[:1], ref[1:]]), ref)
    assert torch.isfinite(got).all()
    assert float(got[1]) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("content", ["black", "flat grey", "white"])
def test_vsi_is_finite_on_flat_images(content):
    level = {"black": 0.0, "flat grey": 0.5, "white": 1.0}[content]
    ref = torch.full((1, 3, 48, 48), level)
    got = vsi(ref, ref)
    assert torch.isfinite(got).all() and float(got[0]) == pytest.approx(1.0, abs=1e-6)
