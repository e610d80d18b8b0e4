"""The equivalences the papers rest on, pinned on the shared blocks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d as tv_deform_conv2d

from sdr2hdr.models import create
from sdr2hdr.models.base import crop, pad_to_multiple
from sdr2hdr.models.blocks.attention import ChannelAttention, CoordinateAttention
from sdr2hdr.models.blocks.deform import DeformConv2d, deform_conv2d, deform_conv2d_grid_sample, resolve_impl
from sdr2hdr.models.blocks.domain import paper_yuv_to_hdr_rgb, sdr_rgb_to_paper_yuv
from sdr2hdr.models.blocks.guided_filter import GuidedFilter, box_filter, guided_filter
from sdr2hdr.models.blocks.modulation import DMC, GFM, SFTLayer, dual_feature_modulation
from sdr2hdr.models.blocks.wavelet import haar_dwt, haar_idwt

# ---------------------------------------------------------------- DMC (DIDNet eqs. 7-9)


@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("dual", [True, False])
def test_dmc_kernel_modulation_equals_modulating_input_convolving_and_modulating_output(kernel, dual):
    torch.manual_seed(0)
    n, cin, cout = 3, 5, 7
    layer = DMC(cin, cout, kernel, dual=dual)
    x = torch.randn(n, cin, 9, 11)
    alpha, beta = torch.randn(n, cout), torch.randn(n, cout)
    gamma = torch.randn(n, cin) if dual else None
    expected = dual_feature_modulation(x, layer.weight, layer.bias, alpha, beta, gamma, padding=kernel // 2)
    torch.testing.assert_close(layer(x, alpha, beta, gamma), expected, rtol=1e-5, atol=1e-5)


def test_dmc_uses_each_samples_own_condition():
    torch.manual_seed(0)
    layer = DMC(4, 4, 3)
    x = torch.randn(1, 4, 6, 6).expand(2, -1, -1, -1)
    alpha, beta, gamma = torch.randn(2, 4), torch.randn(2, 4), torch.randn(2, 4)
    y = layer(x, alpha, beta, gamma)
    assert not torch.allclose(y[0], y[1])
    torch.testing.assert_close(y[1:], layer(x[1:], alpha[1:], beta[1:], gamma[1:]), rtol=1e-5, atol=1e-5)


def test_dmc_with_identity_modulation_is_a_plain_convolution():
    torch.manual_seed(0)
    layer = DMC(6, 8, 3)
    x = torch.randn(2, 6, 10, 10)
    ones6, ones8, zeros8 = torch.ones(2, 6), torch.ones(2, 8), torch.zeros(2, 8)
    torch.testing.assert_close(layer(x, ones8, zeros8, ones6), F.conv2d(x, layer.weight, layer.bias, padding=1))


def test_kernel_modulation_cost_is_independent_of_resolution_and_gfm_cost_is_not():
    ckm = DMC(64, 64, 1, dual=False)
    gfm = GFM(64, 64, cond_dim=6)
    assert ckm.ops(480, 720) == ckm.ops(2160, 3840) == 64 * 64 + 64 == 4160
    assert gfm.ops(1080, 1920) == 2 * 1080 * 1920 * 64 == 265_420_800
    assert DMC(64, 64, 3, dual=True).ops() == 2 * 64 * 64 * 9 + 64


def test_gfm_is_scale_shift_plus_identity_of_the_conv_output():
    torch.manual_seed(0)
    gfm = GFM(3, 4, cond_dim=2)
    x, c = torch.randn(2, 3, 5, 5), torch.randn(2, 2)
    out = gfm.conv(x)
    expected = out * gfm.cond_scale(c)[:, :, None, None] + gfm.cond_shift(c)[:, :, None, None] + out
    torch.testing.assert_close(gfm(x, c), expected)


def test_sft_with_zero_condition_and_zeroed_last_convs_is_identity():
    layer = SFTLayer(4, 6)
    for conv in (layer.scale_conv1, layer.shift_conv1):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    x = torch.randn(1, 6, 4, 4)
    torch.testing.assert_close(layer(x, torch.randn(1, 4, 4, 4)), x)


# ---------------------------------------------------------------- Haar wavelet (DIDNet eq. 10)


def test_haar_dwt_then_idwt_reconstructs_exactly():
    g = torch.Generator().manual_seed(0)
    # dyadic rationals: every sum and halving in the transform is exact in float32
    x = torch.randint(-64, 64, (2, 3, 8, 12), generator=g).float() / 8
    assert torch.equal(haar_idwt(*haar_dwt(x)), x)
    y = torch.randn(2, 5, 16, 10, generator=g)
    torch.testing.assert_close(haar_idwt(*haar_dwt(y)), y, rtol=0, atol=1e-6)


def test_haar_dwt_is_orthonormal_and_puts_a_constant_in_ll_only():
    x = torch.randn(1, 2, 6, 6)
    bands = haar_dwt(x)
    torch.testing.assert_close(sum(b.square().sum() for b in bands), x.square().sum())
    ll, lh, hl, hh = haar_dwt(torch.full((1, 1, 4, 4), 3.0))
    assert torch.equal(ll, torch.full((1, 1, 2, 2), 6.0))
    assert not lh.any() and not hl.any() and not hh.any()


def test_haar_bands_see_the_right_edges():
    vertical_edges = torch.tensor([[1.0, 0.0] * 2] * 4)[None, None]  # alternates along W
    _, lh, hl, _ = haar_dwt(vertical_edges)
    assert lh.abs().sum() > 0 and hl.abs().sum() == 0


def test_haar_dwt_rejects_odd_sizes():
    with pytest.raises(ValueError):
        haar_dwt(torch.zeros(1, 1, 5, 4))


# ---------------------------------------------------------------- deformable convolution


def _deform_case(seed: int, n=2, c=6, h=11, w=13, groups=3, out=5, stride=1, pad=1, dil=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g)
    weight = torch.randn(out, c, 3, 3, generator=g) / 4
    bias = torch.randn(out, generator=g)
    ho = (h + 2 * pad - dil * 2 - 1) // stride + 1
    wo = (w + 2 * pad - dil * 2 - 1) // stride + 1
    offset = torch.randn(n, 2 * groups * 9, ho, wo, generator=g) * 2.5  # reaches past the borders
    mask = torch.rand(n, groups * 9, ho, wo, generator=g)
    return x, weight, bias, offset, mask, dict(stride=stride, padding=pad, dilation=dil)


@pytest.mark.parametrize("impl", ["torchvision", "grid_sample"])
def test_deformable_conv_with_zero_offsets_equals_plain_conv(impl):
    x, weight, bias, offset, _, kw = _deform_case(0)
    zero = torch.zeros_like(offset)
    expected = F.conv2d(x, weight, bias, padding=1)
    torch.testing.assert_close(deform_conv2d(x, zero, weight, bias, **kw, impl=impl), expected, rtol=1e-5, atol=1e-5)
    ones = torch.ones(x.shape[0], 27, *x.shape[-2:])
    torch.testing.assert_close(
        deform_conv2d(x, zero, weight, bias, **kw, mask=ones, impl=impl), expected, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "geometry",
    [dict(), dict(stride=2), dict(pad=2, dil=2), dict(groups=1, c=4), dict(h=1, w=7, pad=1)],
    ids=["plain", "stride2", "dilated", "one-group", "one-row"],
)
@pytest.mark.parametrize("with_mask", [False, True])
def test_grid_sample_deformable_conv_equals_torchvision_on_random_offsets(geometry, with_mask):
    x, weight, bias, offset, mask, kw = _deform_case(1, **geometry)
    mask = mask if with_mask else None
    expected = tv_deform_conv2d(x, offset, weight, bias, mask=mask, **kw)
    got = deform_conv2d_grid_sample(x, offset, weight, bias, kw["stride"], kw["padding"], kw["dilation"], mask)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_grid_sample_deformable_conv_has_torchvisions_gradients():
    x, weight, bias, offset, mask, kw = _deform_case(2)
    grads = []
    for fn in (
        lambda *a: tv_deform_conv2d(*a[:4], mask=a[4], **kw),
        lambda *a: deform_conv2d_grid_sample(*a[:4], kw["stride"], kw["padding"], kw["dilation"], a[4]),
    ):
        leaves = [t.clone().requires_grad_() for t in (x, offset, weight, bias, mask)]
        fn(*leaves).square().sum().backward()
        grads.append([t.grad for t in leaves])
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3)


def test_deform_layer_auto_picks_grid_sample_on_cpu_and_torchvision_elsewhere():
    assert resolve_impl("auto", torch.device("cpu")) == "grid_sample"
    assert resolve_impl("auto", torch.device("cuda")) == "torchvision"
    layer = DeformConv2d(6, 4, offset_groups=2)
    assert (layer.offset_channels, layer.mask_channels) == (36, 18)
    with pytest.raises(ValueError):
        resolve_impl("nope", torch.device("cpu"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- guided filter (Deep SR-ITM section 3.1)


def _direct_box_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over the window with replicated borders, by explicit index clamping."""
    _, _, h, w = x.shape
    r = window // 2
    out = torch.zeros_like(x)
    for i in range(h):
        for j in range(w):
            rows = [min(max(i + d, 0), h - 1) for d in range(-r, r + 1)]
            cols = [min(max(j + d, 0), w - 1) for d in range(-r, r + 1)]
            out[:, :, i, j] = x[:, :, rows][:, :, :, cols].mean(dim=(2, 3))
    return out


def test_box_filter_matches_direct_replicate_border_mean():
    x = torch.rand(2, 3, 7, 9, dtype=torch.float64)
    torch.testing.assert_close(box_filter(x, 5), _direct_box_mean(x, 5))


def test_guided_filter_matches_a_direct_implementation_of_the_formula():
    g = torch.Generator().manual_seed(0)
    i = torch.rand(1, 3, 8, 10, generator=g, dtype=torch.float64)
    eps, window = 0.01, 5
    mean_i = _direct_box_mean(i, window)
    var = _direct_box_mean(i * i, window) - mean_i**2
    a = var / (var + eps)  # He et al. eq. 5 with p = I
    b = mean_i - a * mean_i  # eq. 6
    expected = _direct_box_mean(a, window) * i + _direct_box_mean(b, window)  # eq. 8
    torch.testing.assert_close(guided_filter(i, i, window, eps), expected)
    torch.testing.assert_close(GuidedFilter()(i.float()), expected.float(), rtol=1e-5, atol=1e-5)


def test_guided_filter_keeps_constants_and_smooths_noise():
    flat = torch.full((1, 1, 9, 9), 0.4)
    torch.testing.assert_close(GuidedFilter()(flat), flat)
    noisy = 0.5 + 0.01 * torch.randn(1, 1, 32, 32)
    assert GuidedFilter()(noisy).std() < noisy.std()


# ---------------------------------------------------------------- attention, domain, padding


def test_coordinate_attention_gates_by_row_and_column():
    att = CoordinateAttention(64).eval()
    assert att.conv1.out_channels == 8  # max(8, 64 // 32)
    x = torch.randn(2, 64, 6, 9)
    y = att(x)
    assert y.shape == x.shape
    assert (y.abs() <= x.abs() + 1e-6).all()  # two sigmoid gates never amplify


def test_channel_attention_scales_whole_channels():
    att = ChannelAttention(4)
    x = torch.rand(1, 4, 5, 5) + 0.1
    ratio = att(x) / x
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))


def test_paper_yuv_domain_maps_white_and_black_to_their_codes():
    white, black = torch.ones(1, 3, 1, 1), torch.zeros(1, 3, 1, 1)
    torch.testing.assert_close(sdr_rgb_to_paper_yuv(white).flatten(), torch.tensor([235.0, 128.0, 128.0]) / 255)
    torch.testing.assert_close(sdr_rgb_to_paper_yuv(black).flatten(), torch.tensor([16.0, 128.0, 128.0]) / 255)
    hdr_white = torch.tensor([940.0, 512.0, 512.0]).view(1, 3, 1, 1) / 1023
    torch.testing.assert_close(paper_yuv_to_hdr_rgb(hdr_white), white)
    hdr_black = torch.tensor([64.0, 512.0, 512.0]).view(1, 3, 1, 1) / 1023
    torch.testing.assert_close(paper_yuv_to_hdr_rgb(hdr_black), black, rtol=0, atol=1e-6)


def test_pad_to_multiple_then_crop_restores_the_frame():
    x = torch.rand(2, 3, 3, 13, 10)
    padded, h, w = pad_to_multiple(x, 8)
    assert padded.shape == (2, 3, 3, 16, 16)
    assert torch.equal(crop(padded, h, w), x)
    tiny, _, _ = pad_to_multiple(torch.rand(1, 3, 2, 2), 8)
    assert tiny.shape[-2:] == (8, 8)


def test_agcm_prior_is_the_same_for_a_picture_at_any_size():
    # trained on 128-pixel patches, run on 256-pixel test frames and on video frames: the global colour prior
    # must describe the picture, not its pixel count
    torch.manual_seed(0)
    model = create("agcm").eval()
    small = F.interpolate(torch.rand(2, 3, 8, 12), size=(128, 192), mode="bicubic", align_corners=False).clamp(0, 1)
    with torch.no_grad():
        reference = model.prior(small)
        for side in (256, 540):
            big = F.interpolate(small, size=(side, side * 3 // 2), mode="bicubic", align_corners=False)
            assert torch.allclose(model.prior(big), reference, atol=2e-3 * reference.abs().max())
        # the authors' fixed x4 downscale reads a 540-pixel frame differently: what the thumbnail fixes
        authors = create("agcm", cond_size=None).eval()
        authors.load_state_dict(model.state_dict())
        assert not torch.allclose(authors.prior(big), authors.prior(small), atol=2e-2 * reference.abs().max())
