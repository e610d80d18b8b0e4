"""HDRUNet (Chen et al., "HDRUNet: Single Image HDR Reconstruction with Denoising and Dequantization", CVPRW 2021).

Defines:
    ResBlockSFT   SFT -> conv -> relu -> SFT -> conv, plus identity (the authors' ResBlock_with_SFT).
    HDRUNet       condition network (spatial conditions at full, 1/2 and 1/4 size), U-Net of two stride-2 levels
                  with SFT residual blocks (2, 8, 2), pixel-shuffle up path, weighting (mask) network:
                  out = mask(x) * x + unet(x).

1,651,494 parameters, as the authors' HDRUNet_arch.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel, crop, pad_to_multiple
from .blocks.modulation import SFTLayer
from .registry import ModelSummary, register_model


class ResBlockSFT(nn.Module):
    """Residual block whose two convs are each preceded by a spatial feature transform of the condition."""

    def __init__(self, ch: int = 64, cond_ch: int = 32) -> None:
        super().__init__()
        self.sft1 = SFTLayer(cond_ch, ch)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.sft2 = SFTLayer(cond_ch, ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        f = F.relu(self.conv1(self.sft1(x, cond)))
        return x + self.conv2(self.sft2(f, cond))


class SFTStage(nn.Module):
    """A run of ResBlockSFT sharing one condition map."""

    def __init__(self, blocks: int, ch: int = 64, cond_ch: int = 32) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlockSFT(ch, cond_ch) for _ in range(blocks))

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        for b in self.blocks:
            x = b(x, cond)
        return x


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.1, inplace=True)


class HDRUNet(HDRModel):
    """U-Net with SFT conditioned on the input at three scales, plus a per-pixel weighting of the input."""

    size_multiple = 4
    # two stride-2 levels of SFT residual blocks: tiles overlapping by 32 px differ from the whole frame by ~8 codes
    # at initialisation, by 64 px by under 0.5
    receptive_radius = 16

    def __init__(self, ch: int = 64, cond_nf: int = 64, cond_out: int = 32) -> None:
        super().__init__()
        self.cond_first = nn.Sequential(
            nn.Conv2d(3, cond_nf, 3, padding=1), _lrelu(),
            nn.Conv2d(cond_nf, cond_nf, 1), _lrelu(),
            nn.Conv2d(cond_nf, cond_nf, 1), _lrelu(),
        )  # fmt: skip
        self.cond_full = nn.Sequential(nn.Conv2d(cond_nf, cond_nf, 1), _lrelu(), nn.Conv2d(cond_nf, cond_out, 1))
        self.cond_half = nn.Sequential(
            nn.Conv2d(cond_nf, cond_nf, 3, stride=2, padding=1), _lrelu(), nn.Conv2d(cond_nf, cond_out, 1)
        )
        self.cond_quarter = nn.Sequential(
            nn.Conv2d(cond_nf, cond_nf, 3, stride=2, padding=1), _lrelu(),
            nn.Conv2d(cond_nf, cond_out, 3, stride=2, padding=1),
        )  # fmt: skip
        # weighting network: how much of the input passes straight through, per pixel and channel
        self.mask_est = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 1), nn.ReLU(inplace=True),
            nn.Conv2d(ch, 3, 1),
        )  # fmt: skip
        self.conv_first = nn.Conv2d(3, ch, 3, padding=1)
        self.sft_first = SFTLayer(cond_out, ch)
        self.conv_hr1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.down1 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.stage1 = SFTStage(2, ch, cond_out)
        self.stage2 = SFTStage(8, ch, cond_out)
        self.stage3 = SFTStage(2, ch, cond_out)
        self.up1 = nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2))
        self.up2 = nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2))
        self.sft_last = SFTLayer(cond_out, ch)
        self.conv_hr2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv_last = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        x, h, w = pad_to_multiple(x, self.size_multiple)
        mask = self.mask_est(x)
        c = self.cond_first(x)
        c1, c2, c3 = self.cond_full(c), self.cond_half(c), self.cond_quarter(c)

        f0 = F.relu(self.conv_first(x))
        f0 = F.relu(self.conv_hr1(self.sft_first(f0, c1)))
        f1 = self.stage1(F.relu(self.down1(f0)), c2)
        f2 = F.relu(self.down2(f1))
        out = self.stage2(f2, c3) + f2
        out = self.stage3(F.relu(self.up1(out)) + f1, c2)
        out = F.relu(self.up2(out)) + f0
        out = self.conv_last(F.relu(self.conv_hr2(self.sft_last(out, c1))))
        return crop(mask * x + out, h, w)


@register_model(
    ModelSummary(
        name="hdrunet",
        paper="Chen, Liu, Zhang, Qiao, Dong. HDRUNet, CVPR Workshops 2021",
        task="ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B' (retrained SDR -> HDR10 by DIDNet; the original targets linear NTIRE 2021 HDR)",
        paper_params=1_651_494,
        params_exact=True,
        paper_runtime="265.3 ms per 1080p frame (DIDNet table 1)",
        paper_recipe="tanh-L1 loss, Adam; retrained on HDRTV data by DIDNet (1.652M in its table 1)",
        notes="authors' HDRUNet_arch counts 1,651,494",
    )
)
def hdrunet(**kwargs: Any) -> HDRUNet:
    """HDRUNet."""
    return HDRUNet(**kwargs)
