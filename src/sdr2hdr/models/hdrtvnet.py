"""HDRTVNet (Chen et al., ICCV 2021) without its GAN highlight stage: AGCM followed by local enhancement (LE).

Defines:
    LocalEnhancement   the authors' modified SRResNet: stride-2 first conv, 16 residual blocks, conv 64->256 +
                       pixel shuffle, two convs; 1,369,859 parameters.
    HDRTVNet           AGCM -> LE, 1,405,110 parameters (DIDNet table 1: 1.405M).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .agcm import _HDRTV_RECIPE, AGCM
from .base import HDRModel, crop, pad_to_multiple
from .registry import ModelSummary, register_model


class ResidualBlockNoBN(nn.Module):
    """x + conv(relu(conv(x))), no normalisation (EDSR / BasicSR style)."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class LocalEnhancement(nn.Module):
    """SRResNet for ITM: works at 1/2 resolution (stride-2 first conv) and returns to full size by pixel shuffle."""

    def __init__(self, ch: int = 64, blocks: int = 16) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, ch, 3, stride=2, padding=1)
        self.trunk = nn.Sequential(*(ResidualBlockNoBN(ch) for _ in range(blocks)))
        self.upconv = nn.Conv2d(ch, 4 * ch, 3, padding=1)
        self.conv_hr = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv_last = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.trunk(F.relu(self.conv_first(x)))
        f = F.relu(F.pixel_shuffle(self.upconv(f), 2))
        return self.conv_last(F.relu(self.conv_hr(f)))


class HDRTVNet(HDRModel):
    """AGCM then LE, trained in that order; H and W are reflect-padded to even sizes for the LE's stride 2.

    Global-prior protocol (base.py): prior(frame) is the AGCM's colour prior of the whole frame (a fixed-size
    thumbnail); forward(x, prior=None) runs a frame or a tile of it with that prior. The LE is local.
    """

    size_multiple = 2
    # LE: 16 residual blocks at half resolution (theoretical radius ~70 px); tiles overlapping by 64 px agree with
    # the whole frame to 0.05 code at initialisation, 48 px to 0.4
    receptive_radius = 16

    def __init__(self) -> None:
        super().__init__()
        self.agcm = AGCM()
        self.le = LocalEnhancement()

    def prior(self, image: Tensor) -> Tensor:
        """The AGCM's (N, 6) colour prior of a whole frame."""
        return self.agcm.prior(image)

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        self.check_input(x)
        y = self.agcm(x, prior)
        y, h, w = pad_to_multiple(y, self.size_multiple)
        return crop(self.le(y), h, w)


@register_model(
    ModelSummary(
        name="hdrtvnet",
        paper="Chen, Zhang, Ren, Tian, Qiao, Dong. A New Journey from SDRTV to HDRTV, ICCV 2021 (AGCM + LE)",
        task="ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B': SDR BT.709 gamma in, HDR10 (BT.2020 PQ) out",
        paper_params=1_405_000,
        paper_runtime="102.0 ms per 1080p frame (DIDNet table 1)",
        paper_recipe=_HDRTV_RECIPE,
        notes="DIDNet table 1: 1.405M for AGCM + LE; the highlight-generation GAN stage is not included",
    )
)
def hdrtvnet(**kwargs: Any) -> HDRTVNet:
    """HDRTVNet (AGCM + LE)."""
    return HDRTVNet(**kwargs)
