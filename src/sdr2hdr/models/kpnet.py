"""KPNet (Wang et al., "Compressed-SDR to HDR Video Reconstruction", TPAMI 2023): compressed SDR -> HDR.

Defines:
    FeatureBlock   the per-scale feature block of the authors' code (their "dislocation_change").
    AFE            asymmetric frequency enhancement (eqs. 10-11).
    KIB            knowledge-inspired block, R(f) * X(f) + Y(f) with R = refine(AFE(f)) (eqs. 9, 12-14).
    IFM            information fusion module: pairwise concatenation, shared 1x1, residual block each, shared
                   coordinate attention, sum, refine (eqs. 16-17).
    KPNet          head at three scales, one KIB shared by the scales, IFM at 1/2 scale, tail (fig. 2).

Follows the authors' module (scale_3_brain_new1.KUNet2): 1,552,475 parameters, of which 1,367,835 are used in
forward. The two layers it defines but never calls (a 64->256 up-conv and a stride-2 conv, 184,640 parameters)
are kept under unused_* names so the authors' checkpoints load; unused_parameters() lists them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel, crop, pad_to_multiple
from .blocks.attention import CoordinateAttention
from .registry import ModelCard, register_model


def upconv(ch: int) -> nn.Sequential:
    """conv 3x3 ch -> 4ch and pixel shuffle x2."""
    return nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2))


class FeatureBlock(nn.Module):
    """o1 = relu(conv(x)) + x, o2 = relu(conv(o1)), out = 1x1 conv of [o1, o2, x]: each scale's entry to the KIB."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.fuse = nn.Conv2d(3 * ch, ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        o1 = F.relu(self.conv1(x)) + x
        o2 = F.relu(self.conv2(o1))
        return self.fuse(torch.cat((o1, o2, x), dim=1))


class AFE(nn.Module):
    """Asymmetric frequency enhancement: high = conv(f), low = conv(avgpool(f)), each through conv relu conv."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        # eq. 10, the split S_F as in OctConv: no bias on the two split convolutions
        self.split_high = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.split_low = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.enhance_high = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))
        self.enhance_low = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))
        self.up = upconv(ch)

    def forward(self, f: Tensor) -> Tensor:
        high = self.split_high(f)
        low = self.split_low(F.avg_pool2d(f, 2))
        return self.enhance_high(high) + self.up(self.enhance_low(low)) + f  # eq. 11


class KIB(nn.Module):
    """Knowledge-inspired block H_F = R(L_F) * X(L_F) + Y(L_F): compensate, then adjust gain and remove noise."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.afe = AFE(ch)
        # eq. 12: refine the AFE output (the authors' code puts a relu after both convs)
        self.refine = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 1), nn.ReLU()
        )
        self.x = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1))  # eq. 13, g/t
        self.y = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1))  # eq. 14, g*n/t

    def forward(self, f: Tensor) -> Tensor:
        return self.refine(self.afe(f)) * self.x(f) + self.y(f)  # eq. 9


class PairResBlock(nn.Module):
    """x + relu(conv(relu(conv(x)))): the residual block of each IFM pair (the authors' res_block, acti='relu')."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.relu(self.conv2(F.relu(self.conv1(x))))


class IFM(nn.Module):
    """Information fusion: T_i = RCA(Conv1x1(Cat(pair_i))) summed over the pairs (1,2), (1,3), (2,3), then refined."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(2 * ch, ch, 1), nn.ReLU())  # shared by the three pairs
        self.res = nn.ModuleList(PairResBlock(ch) for _ in range(3))
        self.attention = CoordinateAttention(ch, ch)  # shared by the three pairs
        self.refine = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 1))

    def forward(self, f1: Tensor, f2: Tensor, f3: Tensor) -> Tensor:
        pairs = ((f1, f2), (f1, f3), (f2, f3))
        fused = sum(self.attention(res(self.reduce(torch.cat(p, dim=1)))) for res, p in zip(self.res, pairs))  # eq. 16
        return self.refine(F.relu(fused))


class KPNet(HDRModel):
    """KPNet: one KIB applied at 1/2, 1/4 and full scale, fused at 1/2 scale by the IFM, upsampled by the tail.

    H and W are reflect-padded to a multiple of 8 inside forward (two stride-2 levels, then the AFE's 2x2 pool)
    and cropped back.
    include_unused=False drops the two layers the authors define but never use (1,367,835 parameters).
    """

    size_multiple = 8
    UNUSED = ("unused_up", "unused_down")

    def __init__(self, ch: int = 64, include_unused: bool = True) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, ch, 3, padding=1)  # eq. 7
        self.down1 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # eq. 8: full -> 1/2
        self.down2 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # 1/2 -> 1/4
        self.entry = nn.ModuleList(FeatureBlock(ch) for _ in range(3))  # one per scale: 1/2, 1/4, full
        self.kib = KIB(ch)  # the authors share one KIB's weights across the three scales
        self.kib2_up = upconv(ch)  # 1/4 -> 1/2
        self.kib3_down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # full -> 1/2
        self.ifm = IFM(ch)
        self.tail_up = upconv(ch)
        self.conv_last = nn.Conv2d(ch, 3, 3, padding=1)
        if include_unused:
            self.unused_up = upconv(ch)
            self.unused_down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def unused_parameters(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.named_parameters() if name.split(".")[0] in self.UNUSED)

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        x, h, w = pad_to_multiple(x, self.size_multiple)
        f0 = F.relu(self.conv_first(x))
        f1 = F.relu(self.down1(f0))
        f2 = F.relu(self.down2(f1))
        k1 = self.kib(self.entry[0](f1))  # 1/2
        k2 = self.kib(self.entry[1](f2))  # 1/4
        k3 = self.kib(self.entry[2](f0))  # full
        fused = self.ifm(k1, self.kib2_up(k2), self.kib3_down(k3))
        out = self.conv_last(F.relu(self.tail_up(fused)))  # no global residual, as the authors
        return crop(out, h, w)


@register_model(
    ModelCard(
        name="kpnet",
        paper="Wang, Ye, Zhu, Li, Li, Zhu. Compressed-SDR to HDR Video Reconstruction (KPNet), TPAMI 2023",
        task="compressed ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B': SDR BT.709 gamma in, HDR10 (BT.2020 PQ) out, HDRTV1K frames coded with HM 16.9 intra",
        paper_params=1_552_475,
        params_exact=True,
        paper_runtime="not reported",
        paper_recipe=(
            "L1, Adam (0.9, 0.99), lr 2e-4 halved at 200k/300k/400k/500k, 550k iterations, batch 12, patch 160, "
            "flips/rotations; one model per QP (HM 16.9 intra, QP 32/37/42/47)"
        ),
        notes="authors' module counts 1,552,475 (paper 1.55M); 1,367,835 used in forward, 184,640 kept unused",
    )
)
def kpnet(**kwargs) -> KPNet:
    """KPNet."""
    return KPNet(**kwargs)
