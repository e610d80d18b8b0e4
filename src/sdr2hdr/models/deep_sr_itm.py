"""Deep SR-ITM (Kim, Oh, Kim, ICCV 2019): joint super-resolution and inverse tone mapping, x2 and x4.

Defines:
    ResBlock, ResModBlock, ResSkipBlock, ResSkipModBlock   the paper's four block types (eqs. 3, 5, 7, 8).
    SharedModulationFeatures                                 SMF_b / SMF_d (eq. 4).
    DeepSRITM                                                the network (fig. 3), registered as
                                                             deep_sr_itm_x2 and deep_sr_itm_x4.

Structure and parameter counts follow the authors' MatConvNet definition (net_full.m / net_full_x4.m):
2,502,595 (x2) and 2,650,307 (x4) parameters; the paper rounds them to 2.50M / 2.64M.

Initialisation: the paper says "Xavier initialization" and cites Glorot & Bengio 2010; the authors' code
overrides MatConvNet's conv layer (their +dagnn/Conv.m, initParams, "Xavier input & output") and draws
N(0, 2 / (fan_in + fan_out)) with zero biases. xavier_init does the same. (MatConvNet's and Caffe's own 'xavier'
is the fan-in form U(+-sqrt(3 / fan_in)): the same spread on the 62 square 3x3 convs, 91.5% of the x2 weights,
2.4x on the four 6->64 input convs, 1.6x on the 64->256 up-conv, 0.87x on the 1x1 128->64s, 0.72x on the output.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel
from .blocks.domain import check_domain, paper_yuv_to_hdr_rgb, sdr_rgb_to_paper_yuv
from .blocks.guided_filter import GuidedFilter
from .registry import ModelSummary, register_model

# the authors' Div_Elemwise adds MATLAB eps; a float32-representable tiny value plays the same role
DETAIL_EPS = 1e-6


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    """3x3 convolution with bias, zero padding 1: the only kernel Deep SR-ITM uses besides the 1x1 reductions."""
    return nn.Conv2d(cin, cout, 3, padding=1)


def xavier_init(net: nn.Module) -> None:
    """The authors' Xavier initialisation: N(0, 2 / (fan_in + fan_out)) per conv, zero bias (module docstring).

    PyTorch's default (kaiming_uniform with a = sqrt(5)) has std sqrt(1 / (3 fan_in)), about 0.58x this on the
    square convs.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_normal_(m.weight)  # fans include the kernel area, as MatConvNet's
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ResBlock(nn.Module):
    """Pre-activation residual block, RB(x) = Conv(RL(Conv(RL(x)))) + x (eq. 3)."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = conv3x3(ch, ch)
        self.conv2 = conv3x3(ch, ch)

    def residual(self, x: Tensor) -> Tensor:
        """C_RB(x), the branch before the identity is added."""
        return self.conv2(F.relu(self.conv1(F.relu(x))))

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + x


class ModulationBranch(nn.Module):
    """The per-block Conv(RL(Conv(SMF))) that turns shared modulation features into this block's map."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = conv3x3(ch, ch)
        self.conv2 = conv3x3(ch, ch)

    def forward(self, smf: Tensor) -> Tensor:
        return self.conv2(F.relu(self.conv1(smf)))


class ResModBlock(ResBlock):
    """RMB(x) = C_RB(x) * Conv(RL(Conv(SMF_b))) + x (eq. 5); without modulation it is a ResBlock."""

    def __init__(self, ch: int = 64, modulation: bool = True) -> None:
        super().__init__(ch)
        self.mod = ModulationBranch(ch) if modulation else None

    def forward(self, x: Tensor, smf: Tensor | None = None) -> Tensor:
        r = self.residual(x)
        if self.mod is not None:
            # a plain product, no sigmoid: the map may amplify as well as attenuate local contrast
            r = r * self.mod(smf)
        return r + x


class ResSkipBlock(nn.Module):
    """RSB(x) = Conv(RL(Conv(DR(RL([base, x]))))) + x (eq. 7): a base-pass feature enters through a 1x1 reduction."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(2 * ch, ch, 1)
        self.conv1 = conv3x3(ch, ch)
        self.conv2 = conv3x3(ch, ch)

    def residual(self, x: Tensor, skip: Tensor) -> Tensor:
        """The branch before the identity; the authors concatenate the base feature first."""
        return self.conv2(F.relu(self.conv1(self.reduce(F.relu(torch.cat((skip, x), dim=1))))))

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.residual(x, skip) + x


class ResSkipModBlock(ResSkipBlock):
    """RSMB(x) = branch([base, x]) * Conv(RL(Conv(SMF_d))) + x (eq. 8)."""

    def __init__(self, ch: int = 64, modulation: bool = True) -> None:
        super().__init__(ch)
        self.mod = ModulationBranch(ch) if modulation else None

    def forward(self, x: Tensor, skip: Tensor, smf: Tensor | None = None) -> Tensor:
        r = self.residual(x, skip)
        if self.mod is not None:
            r = r * self.mod(smf)
        return r + x


class SharedModulationFeatures(nn.Module):
    """SMF = RL(Conv(RL(Conv(RL(Conv(I_in)))))) (eq. 4), computed once per pass and shared by its blocks."""

    def __init__(self, cin: int = 6, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, ch)
        self.conv2 = conv3x3(ch, ch)
        self.conv3 = conv3x3(ch, ch)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv3(F.relu(self.conv2(F.relu(self.conv1(x))))))


class DeepSRITM(HDRModel):
    """Deep SR-ITM: guided-filter base/detail decomposition, two modulated passes, fusion, pixel-shuffle upsampling.

    Options:
        scale: 2 or 4 (x4 adds a second conv 64->256 + pixel shuffle, as net_full_x4.m).
        modulation: False builds the network of the paper's first training stage (no SMF, no modulation
            branches: 1,904,707 parameters at x2); its weights load into the full model with strict=False.
            Trained alone it is also the paper's ablation (table 3, x2): plain residual blocks with the skip
            connections, column (c) 35.44 dB PSNR / SSIM 0.9734, against the full network's (e) 35.58 / 0.9746
            (experiments/ablation.py trains both on the same budget).
        domain: "rgb" (default) runs the network on R'G'B' as the project's contract; "yuv" wraps it so it sees
            what the paper trained on (8-bit narrow BT.709 Y'CbCr / 255 in, 10-bit narrow BT.2020 PQ Y'CbCr / 1023
            out), e.g. to run the authors' released weights; input and output stay R'G'B' either way.
    Bicubic upsampling of the global residual uses PyTorch's kernel (a = -0.75); MATLAB's imresize uses a = -0.5.
    Every convolution starts from the paper's Xavier initialisation (xavier_init).
    """

    scale = 2

    def __init__(
        self, scale: int = 2, ch: int = 64, m: int = 3, n: int = 10, modulation: bool = True, domain: str = "rgb"
    ) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError("Deep SR-ITM is defined for scale 2 and 4")
        self.scale = scale
        self.modulation = modulation
        self.domain = check_domain(domain)
        self.decompose = GuidedFilter()

        # base layer pass (eq. 6): conv, then m x (ResBlock, ResModBlock)
        self.base_conv = conv3x3(6, ch)
        self.base_smf = SharedModulationFeatures(6, ch) if modulation else None
        self.base_rb = nn.ModuleList(ResBlock(ch) for _ in range(m))
        self.base_rmb = nn.ModuleList(ResModBlock(ch, modulation) for _ in range(m))

        # detail layer pass (eq. 9): conv, ResBlock, then RSMB / RSB alternating (m modulated, m - 1 skip)
        self.detail_conv = conv3x3(6, ch)
        self.detail_smf = SharedModulationFeatures(6, ch) if modulation else None
        self.detail_rb = ResBlock(ch)
        self.detail_rsmb = nn.ModuleList(ResSkipModBlock(ch, modulation) for _ in range(m))
        self.detail_rsb = nn.ModuleList(ResSkipBlock(ch) for _ in range(m - 1))

        # fusion (eqs. 10-11) and synthesis (eq. 12)
        self.fuse_reduce = nn.Conv2d(2 * ch, ch, 1)
        self.fuse_conv = conv3x3(ch, ch)
        self.fuse_rb = nn.Sequential(*(ResBlock(ch) for _ in range(n)))
        self.synth_conv = conv3x3(ch, ch)
        self.up_convs = nn.ModuleList(conv3x3(ch, 4 * ch) for _ in range(2 if scale == 4 else 1))
        self.out_conv = conv3x3(ch, 3)
        xavier_init(self)

    def features(self, i: Tensor) -> Tensor:
        """The network on its own domain: LR image (N,3,H,W) -> HR prediction (N,3,sH,sW)."""
        base = self.decompose(i)
        detail = i / (base + DETAIL_EPS)  # eq. 1
        ib, id_ = torch.cat((i, base), dim=1), torch.cat((i, detail), dim=1)  # eq. 2

        smf_b = self.base_smf(ib) if self.base_smf is not None else None
        f = self.base_conv(ib)
        skips_rb, skips_rmb = [], []
        for rb, rmb in zip(self.base_rb, self.base_rmb):
            f = rb(f)
            skips_rb.append(f)
            f = rmb(f, smf_b)
            skips_rmb.append(f)
        fe_b = f

        smf_d = self.detail_smf(id_) if self.detail_smf is not None else None
        d = self.detail_rb(self.detail_conv(id_))
        for k, rsmb in enumerate(self.detail_rsmb):
            d = rsmb(d, skips_rb[k], smf_d)  # RSMB_k bridges RB_k of the base pass
            if k < len(self.detail_rsb):
                d = self.detail_rsb[k](d, skips_rmb[k])  # RSB_k bridges RMB_k
        fe_d = d

        y = self.fuse_conv(self.fuse_reduce(F.relu(torch.cat((fe_b, fe_d), dim=1))))  # eq. 10
        y = self.fuse_rb(y)  # eq. 11
        y = F.relu(self.synth_conv(F.relu(y)))
        for up in self.up_convs:
            y = F.pixel_shuffle(F.relu(up(y)), 2)
        bic = F.interpolate(i, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return self.out_conv(y) + bic  # eq. 12

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        if self.domain == "yuv":
            return paper_yuv_to_hdr_rgb(self.features(sdr_rgb_to_paper_yuv(x)))
        return self.features(x)


_RECIPE = (
    "L2 loss, Adam, Xavier init; stage 1 without modulation 490K iterations (lr 5e-7 weights, 5e-8 biases), "
    "stage 2 with modulation 660K iterations; batch 16, 160x160 HR patches; 7 YouTube 4K HDR10 videos"
)
_DOMAIN = "YUV: SDR BT.709 8-bit /255 in, HDR BT.2020 PQ 10-bit /1023 out (option domain='yuv')"


@register_model(
    ModelSummary(
        name="deep_sr_itm_x2",
        paper="Kim, Oh, Kim. Deep SR-ITM, ICCV 2019",
        task="joint SR-ITM",
        scale=2,
        frames=1,
        input_domain=_DOMAIN,
        paper_params=2_502_595,
        params_exact=True,
        paper_runtime="5.85 s per 4K output frame (TITAN Xp)",
        paper_recipe=_RECIPE,
        notes="count from the authors' net_full.m (paper: 2.50M); modulation=False gives the stage-1 network",
    )
)
def deep_sr_itm_x2(**kwargs: Any) -> DeepSRITM:
    """Deep SR-ITM, x2."""
    return DeepSRITM(scale=2, **kwargs)


@register_model(
    ModelSummary(
        name="deep_sr_itm_x4",
        paper="Kim, Oh, Kim. Deep SR-ITM, ICCV 2019",
        task="joint SR-ITM",
        scale=4,
        frames=1,
        input_domain=_DOMAIN,
        paper_params=2_650_307,
        params_exact=True,
        paper_runtime="5.05 s per 4K output frame (TITAN Xp)",
        paper_recipe=_RECIPE,
        notes="count from the authors' net_full_x4.m (paper: 2.64M); modulation=False gives the stage-1 network",
    )
)
def deep_sr_itm_x4(**kwargs: Any) -> DeepSRITM:
    """Deep SR-ITM, x4."""
    return DeepSRITM(scale=4, **kwargs)
