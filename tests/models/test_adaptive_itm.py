"""adaptive_itm: parameter counts, the neutral start, the frame-level prior, the pixel mapping the converter bakes."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_tools import SAMPLE

from sdr2hdr.color import pq_eotf
from sdr2hdr.engine.adaptive import AdaptiveStream
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.models import count_params, create, get_summary
from sdr2hdr.models.adaptive_itm import N_PARAMS, GlobalInverse, views
from sdr2hdr.tonemap import bt2408_direct

WHITE = 100.0 * 2 ** 1.02  # the untrained gain: log2 1.02 over SDR 100 cd/m2, BT.2408's 2.03x


@functools.lru_cache(maxsize=1)
def _frame() -> torch.Tensor:
    with VideoReader(SAMPLE) as reader:
        for kind, frame in reader.items():
            if kind == "frame":
                rgb = np.ascontiguousarray(reader.rgb(frame), dtype=np.float32)
                return torch.from_numpy(rgb).permute(2, 0, 1)[None]
    raise AssertionError("the sample has no frame")


def picture(h: int, w: int) -> torch.Tensor:
    """The bundled sample's first frame (a real picture) resized to h x w."""
    return F.interpolate(_frame(), size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def seeded(name: str, seed: int = 0):
    """The model with seeded random weights everywhere, the zero-initialised output layers included, so that the
    estimate depends on the picture and the local branch does something."""
    torch.manual_seed(seed)
    model = create(name).eval()
    with torch.no_grad():
        last = model.estimator.mlp[-1]
        torch.nn.init.normal_(last.weight, std=0.05)
        torch.nn.init.normal_(last.bias, std=0.2)
        if model.local is not None:
            torch.nn.init.normal_(model.local.body[-1].weight, std=0.02)
    return model


@pytest.mark.parametrize("name", ["adaptive_itm", "adaptive_itm_local"])
def test_parameter_count_equals_the_card(name):
    summary = get_summary(name)
    assert summary.params_exact
    assert count_params(create(name)) == summary.paper_params


def test_local_branch_is_the_only_difference():
    glob, local = create("adaptive_itm"), create("adaptive_itm_local")
    assert glob.local is None and local.local is not None
    assert count_params(local) - count_params(glob) == count_params(local.local)


def test_untrained_model_maps_sdr_white_to_bt2408_like_203_nits():
    torch.manual_seed(0)
    model = create("adaptive_itm").eval()
    x = picture(48, 64)
    with torch.no_grad():
        prior = model.prior(x)
        assert prior.shape == (1, N_PARAMS) and torch.count_nonzero(prior) == 0  # zero last layer
        white = model(torch.ones(1, 3, 4, 4))
        assert float(pq_eotf(white).mean()) == pytest.approx(WHITE, rel=1e-4)
        assert WHITE / 100.0 == pytest.approx(2.028, abs=1e-3)
        # every colour: the BT.2408 direct mapping with SDR white at 202.8 cd/m2 (both paths agree at zero)
        out = model(x)[0].permute(1, 2, 0).numpy()
    want = np.asarray(bt2408_direct(x[0].permute(1, 2, 0).numpy().astype(np.float64), white=WHITE))
    assert np.abs(out - want).max() * 1023 < 0.05


@pytest.mark.parametrize("mode, codes", [("nearest", 2.0), ("bilinear", 5.0)])
def test_prior_hardly_changes_when_the_picture_is_resized_2x(mode, codes):
    model = seeded("adaptive_itm")
    small = picture(144, 256)
    large = F.interpolate(small, scale_factor=2, mode=mode).clamp(0, 1)
    other = small ** 0.6  # the same scene, graded brighter: the estimate must move
    probe = torch.rand(1, 3, 4096, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        p_small, p_large, p_other = model.prior(small), model.prior(large), model.prior(other)
        assert p_small.shape == (1, N_PARAMS)

        def gap(p, q):  # largest difference of the two mappings over the probe colours, in 10-bit codes
            return (model.global_pq(probe, p) - model.global_pq(probe, q)).abs().max().item() * 1023

        same, moved = gap(p_small, p_large), gap(p_small, p_other)
    assert same < codes, same
    assert moved > 10.0 and moved > 3 * same, (same, moved)  # the probe does see a different grading


def test_views_have_a_fixed_size_whatever_the_frame():
    for h, w in ((36, 50), (300, 420)):
        thumb, grid = views(torch.rand(2, 3, h, w))
        assert thumb.shape == (2, 3, 64, 64)
        assert grid.shape == (2, 3, min(128, h) * min(128, w))


def test_global_inverse_forward_is_from_features_of_features():
    rng = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 10, 12, generator=rng)
    params = 0.5 * torch.randn(2, N_PARAMS, generator=rng)
    inv = GlobalInverse()
    feats = inv.features(x)
    out = inv(x, params)
    assert out.shape == x.shape and out.min() >= 0
    torch.testing.assert_close(out, GlobalInverse.from_features(feats, params), rtol=0, atol=0)
    # features do not depend on the parameters: the cached ones serve any other frame's parameters
    params2 = 0.5 * torch.randn(2, N_PARAMS, generator=rng)
    torch.testing.assert_close(inv(x, params2), GlobalInverse.from_features(feats, params2), rtol=0, atol=0)
    assert not torch.allclose(inv(x, params), inv(x, params2))
    # per pixel: the (N, 3, P) layout gives the same values as (N, 3, H, W)
    flat = inv(x.flatten(2), params)
    torch.testing.assert_close(flat, out.flatten(2))


def test_pq_mapping_equals_global_pq_and_reuses_its_cache():
    model = seeded("adaptive_itm", seed=3)
    x = picture(40, 56)
    with torch.no_grad():
        params = model.prior(x)
        want = model.global_pq(x, params)[0].permute(1, 2, 0).numpy()
    rgb = np.ascontiguousarray(x[0].permute(1, 2, 0).numpy())[None]  # (1, H, W, 3) as CodeLUT hands it
    cache: dict = {}
    fn = model.pq_mapping(params, cache)
    got = fn(rgb)
    assert got.shape == rgb.shape and got.dtype == np.float32
    np.testing.assert_allclose(got[0], want, atol=2e-5)  # PQ written out in float32: 0.02 10-bit codes
    assert len(cache) == 1
    np.testing.assert_array_equal(fn(rgb), got)
    assert len(cache) == 1  # the same array: its features came from the cache
    # another frame's parameters over the same cache: that frame's mapping, not the first one's
    params2 = params + 0.3
    with torch.no_grad():
        want2 = model.global_pq(x, params2)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(model.pq_mapping(params2, cache)(rgb)[0], want2, atol=2e-5)
    np.testing.assert_allclose(model.pq_mapping(params2)(rgb)[0], want2, atol=2e-5)  # no cache at all
    assert np.abs(want2 - want).max() > 0.01


def test_forward_without_prior_uses_the_frames_own():
    model = seeded("adaptive_itm_local", seed=4)
    x = picture(32, 48)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x, prior=model.prior(x)))
        other = model.prior(picture(32, 48) ** 3)
        assert not torch.allclose(model(x), model(x, prior=other))


def test_local_branch_tiles_exactly_through_the_stream():
    model = seeded("adaptive_itm_local", seed=5)
    rgb = np.ascontiguousarray(picture(70, 90)[0].permute(1, 2, 0).numpy())
    whole = AdaptiveStream("adaptive_itm_local", model, pq_peak=1.0, tile=512)(rgb)
    tiled = AdaptiveStream("adaptive_itm_local", model, pq_peak=1.0, tile=32)(rgb)
    assert whole.shape == tiled.shape == rgb.shape
    np.testing.assert_allclose(tiled, whole, atol=2e-6)
    # the local branch changed the picture (so the halo mattered), and it is not the global path alone
    with torch.no_grad():
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        glob = model.global_pq(x, model.prior(x))[0].permute(1, 2, 0).numpy()
    assert np.abs(whole - np.clip(glob, 0, 1)).max() > 2 / 1023


def test_the_grading_convention_asked_for_moves_the_estimate_and_defaults_to_bt2408():
    model = seeded("adaptive_itm")
    with torch.no_grad():
        torch.nn.init.normal_(model.estimator.grade.weight, std=0.5)
    x = picture(96, 128)
    with torch.no_grad():
        default = model.prior(x)
        assert torch.equal(default, model.prior(x, grade=(203.0, 1000.0)))
        brighter = model.prior(x, grade=(203.0, 4000.0))
        model.target_grade = (203.0, 4000.0)
        assert torch.equal(model.prior(x), brighter)  # the converter sets target_grade from --peak-nits
    assert not torch.allclose(default, brighter)


def test_weights_from_before_the_grade_input_load_and_behave_as_trained(tmp_path):
    from safetensors.torch import save_file

    from sdr2hdr.models.weights import load_weights

    old = seeded("adaptive_itm")
    state = {k: v for k, v in old.state_dict().items() if k != "estimator.grade.weight"}
    save_file(state, str(tmp_path / "old.safetensors"))
    model = create("adaptive_itm").eval()
    load_weights(model, tmp_path / "old.safetensors")
    assert torch.count_nonzero(model.estimator.grade.weight) == 0
    x = picture(64, 64)
    with torch.no_grad():
        # a zero grade layer: asking for another convention changes nothing, as those weights never learned it
        assert torch.equal(model.prior(x, grade=(100.0, 4000.0)), model.prior(x))
