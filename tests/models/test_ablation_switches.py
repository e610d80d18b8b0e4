"""The papers' ablation switches (model kwargs, defaults = the papers' networks): each one removes exactly the part
its paper's ablation removes, on tiny inputs, and every switch is accepted from a training config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sdr2hdr.errors import InputError
from sdr2hdr.models import count_params, create
from sdr2hdr.models.didnet import DMCStack
from sdr2hdr.models.gpgmnet import GPEM
from sdr2hdr.models.kpnet import IFM, KIB
from sdr2hdr.train.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _shared(dst: torch.nn.Module, src: torch.nn.Module) -> None:
    """Copy into dst every tensor of src with the same name and shape (the parts both networks have)."""
    mine = dst.state_dict()
    dst.load_state_dict({k: v for k, v in src.state_dict().items() if k in mine and mine[k].shape == v.shape},
                        strict=False)


# --------------------------------------------------------------------------------------------------- DIDNet


def test_didnet_feature_modulation_is_eq6_after_a_plain_conv():
    torch.manual_seed(0)
    ch, cond_dim = 8, 5
    stack = DMCStack(ch, cond_dim, layers=1, modulation="feature")
    for p in stack.heads.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x, cond = torch.rand(2, ch, 6, 7), torch.rand(2, cond_dim)
    a, b = stack.heads[0](cond).chunk(2, dim=1)
    conv = stack.convs[0]
    expected = x + F.conv2d(x, conv.weight, conv.bias, padding=1) * (1 + a[:, :, None, None]) + b[:, :, None, None]
    assert torch.allclose(stack(x, cond), expected, atol=1e-5)
    # with its heads at their zero start both stacks are the same plain convolutions; the DMC's gamma then differs
    dmc = DMCStack(ch, cond_dim, layers=1)
    _shared(dmc, stack)
    torch.nn.init.zeros_(stack.heads[0].weight), torch.nn.init.zeros_(stack.heads[0].bias)
    assert torch.allclose(dmc(x, cond), stack(x, cond), atol=1e-6)
    torch.nn.init.normal_(dmc.heads[0].weight, std=0.3)
    assert not torch.allclose(dmc(x, cond), stack(x, cond), atol=1e-3)


def test_didnet_switches_change_only_what_they_name():
    default = create("didnet_tiny")
    feature = create("didnet_tiny", modulation="feature")
    one = create("didnet_tiny", frames=1)
    # feature modulation: each of the 3 condition heads loses the gamma outputs (48 of them, from 48 + 1 inputs)
    assert count_params(default) - count_params(feature) == 3 * 48 * (48 + 1)
    assert count_params(one) < count_params(default)
    assert one.frames == 1 and default.frames == 5
    with torch.no_grad():
        y = one(torch.rand(1, 3, 20, 24))
        aux = one.forward_with_aux(torch.rand(2, 3, 16, 16))["aux_sdr"]
        z = feature(torch.rand(1, 5, 3, 16, 20))
    assert y.shape == (1, 3, 20, 24) and aux.shape == (2, 3, 16, 16) and z.shape == (1, 3, 16, 20)
    with pytest.raises(ValueError, match="takes"):
        one(torch.rand(1, 5, 3, 16, 16))
    with pytest.raises(ValueError, match="modulation"):
        create("didnet", modulation="kernel")


# ---------------------------------------------------------------------------------------------------- KPNet


@pytest.mark.parametrize(("x", "y"), [(False, True), (True, False), (False, False)])
def test_kpnet_kib_without_x_or_y_is_eq9_without_that_branch(x, y):
    torch.manual_seed(0)
    full, part = KIB(8), KIB(8, x=x, y=y)
    _shared(part, full)
    f = torch.rand(1, 8, 8, 8)
    r = full.refine(full.afe(f))
    expected = (r * full.x(f) if x else r) + (full.y(f) if y else 0)
    assert torch.allclose(part(f), expected, atol=1e-6)
    branch = 2 * (8 * 8 + 8)  # two 1x1 convs
    assert count_params(full) - count_params(part) == branch * ((not x) + (not y))


def test_kpnet_without_coordinate_attention_sums_the_pairs():
    torch.manual_seed(0)
    ifm = IFM(8, attention=False)
    feats = [torch.rand(1, 8, 6, 6) for _ in range(3)]
    assert torch.allclose(ifm.fuse(feats), ifm.refine(F.relu(feats[0] + feats[1] + feats[2])))
    assert count_params(IFM(8)) > count_params(ifm)
    model = create("kpnet", coord_attention=False, kib_x=False).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 24, 40))
    assert out.shape == (1, 3, 24, 40)
    assert count_params(model) < count_params(create("kpnet"))


# -------------------------------------------------------------------------------------------------- GPGMNet


def test_gpgmnet_prior_branches_are_the_full_priors_halves():
    torch.manual_seed(0)
    full = GPEM().eval()
    x = torch.rand(2, 3, 40, 48)
    with torch.no_grad():
        both = full(x)
        for branches, part in ((("ccp",), both[:, :6]), (("ssp",), both[:, 6:]), ((), both[:, :0])):
            gpem = GPEM(branches=branches).eval()
            _shared(gpem, full)
            assert torch.allclose(gpem(x), part, atol=1e-6)
        no_gf = GPEM(guided=False).eval()
        _shared(no_gf, full)
        unfiltered = no_gf(x)
    # without the guided filter the colour prior changes, the structure prior does not
    assert not torch.allclose(unfiltered[:, :6], both[:, :6], atol=1e-4)
    assert torch.allclose(unfiltered[:, 6:], both[:, 6:], atol=1e-6)


def test_gpgmnet_without_prior_modulates_with_learned_constants():
    torch.manual_seed(0)
    model = create("gpgmnet_x2", priors="none").eval()
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        assert model.prior(x).shape == (1, 0)
        y = model(x)
        # no picture-wide statistic left: a tile is restored the same whichever frame it came from
        assert torch.allclose(model(x, prior=model.prior(torch.rand(1, 3, 64, 64))), y)
    assert y.shape == (1, 3, 32, 40)
    # the GPEM goes, and each of the 5 GSMBs keeps its two maps' biases (as constants) but not their 12-d weights
    assert count_params(create("gpgmnet_x2")) - count_params(model) == count_params(GPEM()) + 5 * 2 * 12 * 64
    with pytest.raises(ValueError, match="priors"):
        create("gpgmnet_x4", priors="both")


# --------------------------------------------------------------------------------------------------- configs


@pytest.mark.parametrize(("config", "sets"), [
    ("didnet_tiny.yaml", ["model.kwargs.modulation=feature", "model.kwargs.frames=1"]),
    ("kpnet.yaml", ["model.kwargs.kib_x=false", "model.kwargs.kib_y=false", "model.kwargs.coord_attention=false"]),
    ("deep_sr_itm_x2.yaml", ["stages=[]", "model.kwargs.modulation=false"]),
    ("gpgmnet_x4.yaml", ["model.kwargs.priors=ssp", "model.kwargs.guided_filter=false"]),
])
def test_every_switch_is_accepted_from_a_training_config(config, sets):
    cfg = load_config(CONFIGS / config, "cpu-smoke", sets)
    assert cfg.model.kwargs and all(v is not None for v in cfg.model.kwargs.values())
    with pytest.raises(InputError, match="model.kwargs"):
        load_config(CONFIGS / config, "cpu-smoke", ["model.kwargs.no_such_switch=1"])
