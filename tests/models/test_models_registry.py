"""Every registered model against its summary and the shared input/output contract."""

from __future__ import annotations

import re

import pytest
import torch

from sdr2hdr.models import cost_table, count_params, create, get_summary, list_models, summaries_table
from sdr2hdr.models.base import HDRModel

MODELS = list_models()
SIZE = 32  # every model's internal multiple divides it, so shape checks are exact

EXPECTED_NAMES = {
    "deep_sr_itm_x2",
    "deep_sr_itm_x4",
    "gpgmnet_x2",
    "gpgmnet_x4",
    "kpnet",
    "didnet",
    "didnet_tiny",
    "agcm",
    "hdrtvnet",
    "hdrunet",
    "csrnet",
    "dncnn",
    # the project's own: the converter's default (issue 12) and informed mode's restoration per source curve
    "adaptive_itm",
    "adaptive_itm_local",
    *(f"informed_{c}" for c in ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera")),
}


def input_size(model: HDRModel) -> int:
    """32 pixels, or less for super-resolution models so their outputs stay small (test time)."""
    return max(8, SIZE // model.scale)


def sample(model: HDRModel, batch: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    size = input_size(model)
    shape = (batch, 3, size, size) if model.frames == 1 else (batch, model.frames, 3, size, size)
    return torch.rand(shape, generator=g)


def test_registry_holds_every_paper_model_and_baseline():
    assert set(MODELS) == EXPECTED_NAMES


def test_list_models_filters_by_shell_pattern():
    assert list_models("deep_sr_itm_*") == ["deep_sr_itm_x2", "deep_sr_itm_x4"]
    assert list_models("nothing*") == []


def test_unknown_name_raises_with_the_registered_names():
    with pytest.raises(KeyError, match="kpnet"):
        create("no_such_model")


@pytest.mark.parametrize("name", MODELS)
def test_parameter_count_matches_the_paper_within_tolerance(name):
    summary = get_summary(name)
    ours = count_params(create(name))
    paper = summary.paper_params
    assert abs(ours - paper) / paper <= summary.params_tolerance, (ours, paper)


@pytest.mark.parametrize("name", MODELS)
def test_card_agrees_with_the_model_class_attributes(name):
    summary = get_summary(name)
    model = create(name)
    assert isinstance(model, HDRModel)
    assert (model.scale, model.frames) == (summary.scale, summary.frames)
    assert summary.paper and summary.task and summary.input_domain and summary.paper_recipe and summary.paper_runtime


@pytest.mark.parametrize("name", MODELS)
def test_train_step_gives_finite_output_of_the_right_shape_and_reaches_every_used_parameter(name):
    torch.manual_seed(0)
    model = create(name).train()
    x = sample(model, batch=2)
    outs = model.forward_with_aux(x)
    assert set(outs) == {"main", *model.aux_outputs}
    size, s = input_size(model), model.scale
    for key, y in outs.items():
        expected = (2, 3, size * s, size * s) if key == "main" else (2, 3, size, size)
        assert y.shape == expected, key
        assert torch.isfinite(y).all(), key
    sum(y.square().mean() for y in outs.values()).backward()
    unused = set(model.unused_parameters())
    missing = {n for n, p in model.named_parameters() if p.grad is None}
    assert missing == unused
    for n, p in model.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), n


@pytest.mark.parametrize("name", MODELS)
def test_eval_batch_of_three_equals_three_batches_of_one(name):
    torch.manual_seed(0)
    model = create(name).eval()
    x = sample(model, batch=3, seed=1)
    with torch.no_grad():
        together = model(x)
        apart = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, apart, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_model_rejects_input_of_the_wrong_layout(name):
    model = create(name)
    wrong = torch.rand(1, 3, 8, 8) if model.frames > 1 else torch.rand(1, 3, 3, 8, 8)
    with pytest.raises(ValueError):
        model(wrong)


def test_odd_sizes_are_padded_inside_and_cropped_back():
    torch.manual_seed(0)
    for name in ("kpnet", "hdrunet", "hdrtvnet", "didnet_tiny"):
        model = create(name).eval()
        x = torch.rand((1, 3, 21, 27)) if model.frames == 1 else torch.rand(1, model.frames, 3, 21, 27)
        with torch.no_grad():
            assert model(x).shape == (1, 3, 21, 27), name


def test_kpnet_leaves_exactly_the_authors_two_unused_layers_unused():
    model = create("kpnet")
    unused = model.unused_parameters()
    assert unused == ("unused_up.0.weight", "unused_up.0.bias", "unused_down.weight", "unused_down.bias")
    named = dict(model.named_parameters())
    assert sum(named[n].numel() for n in unused) == 184_640
    assert count_params(model) == 1_552_475
    assert count_params(create("kpnet", include_unused=False)) == 1_367_835


def test_deep_sr_itm_stage_one_variant_has_no_modulation_and_loads_into_the_full_model():
    stage1 = create("deep_sr_itm_x2", modulation=False)
    assert count_params(stage1) == 1_904_707
    full = create("deep_sr_itm_x2")
    result = full.load_state_dict(stage1.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert all(".mod." in k or "_smf." in k for k in result.missing_keys)
    with torch.no_grad():
        assert stage1(torch.rand(1, 3, 16, 16)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("name", ["deep_sr_itm_x2", "gpgmnet_x4"])
def test_yuv_domain_option_keeps_the_rgb_contract(name):
    model = create(name, domain="yuv").eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 16, 16))
    assert y.shape == (1, 3, 16 * model.scale, 16 * model.scale)
    with pytest.raises(ValueError):
        create(name, domain="xyz")


def test_didnet_frames_are_configurable_and_must_have_a_centre():
    model = create("didnet_tiny", frames=3).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 3, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError):
        create("didnet", frames=4)


def test_didnet_aux_output_is_the_restored_sdr_of_the_centre_frame():
    model = create("didnet").eval()
    x = sample(model, batch=1)
    with torch.no_grad():
        outs = model.forward_with_aux(x)
        torch.testing.assert_close(outs["main"], model(x))
    assert model.aux_outputs == ("aux_sdr",)


def test_cards_table_lists_every_model_with_both_parameter_counts():
    text = summaries_table()
    for name in MODELS:
        summary = get_summary(name)
        line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
        assert f"{count_params(create(name)):,}" in line
        assert f"{summary.paper_params:,}" in line
        assert re.search(r"[+-]\d+\.\d\d%", line)
        assert " yes " in line
    verbose = summaries_table(verbose=True)
    assert "recipe:" in verbose and "Kim, Oh, Kim" in verbose


def test_cost_table_reproduces_didnet_table_5():
    text = cost_table()
    for paper in ("44.22M", "265.42M", "1061.68M", "4.16K"):
        assert paper in text
    rows = {ln.split()[0]: ln.split() for ln in text.splitlines() if re.match(r"^\d+x\d+x64 ", ln)}
    # ours, from the layers' shapes: 2*H*W*64 for GFM, 64*64 + 64 for kernel modulation
    assert rows["720x480x64"][1] == "44.24M"  # the paper prints 44.22M; 2*720*480*64 = 44,236,800
    assert rows["1920x1080x64"][1] == "265.42M"
    assert rows["3840x2160x64"][1] == "1061.68M"
    assert all(r[3] == "4.16K" for r in rows.values())
