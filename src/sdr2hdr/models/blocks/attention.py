"""Attention blocks shared by the models.

Defines:
    CoordinateAttention   Hou et al. CVPR 2021, as KPNet's IFM uses it (KPNet eqs. 18-24).
    ChannelAttention      global pool -> 1x1 conv(s) -> sigmoid -> rescale (DIDNet eq. 10's s = Conv(GAP(z))).

Both pool over the whole map they are given; `pooled=` hands them statistics pooled elsewhere instead (the whole
frame's, when the map is one tile of it: the global-prior protocol of base.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class HSwish(nn.Module):
    """x * relu6(x + 3) / 6, the activation of coordinate attention."""

    def forward(self, x: Tensor) -> Tensor:
        return x * F.relu6(x + 3.0) / 6.0


class CoordinateAttention(nn.Module):
    """Coordinate attention: pool along W and along H, shared 1x1 + BN + h-swish, then two sigmoid gates."""

    def __init__(self, channels: int, out_channels: int | None = None, reduction: int = 32, min_mid: int = 8) -> None:
        super().__init__()
        out_channels = out_channels or channels
        mid = max(min_mid, channels // reduction)
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act = HSwish()
        self.conv_h = nn.Conv2d(mid, out_channels, 1)
        self.conv_w = nn.Conv2d(mid, out_channels, 1)

    @staticmethod
    def pool(x: Tensor) -> tuple[Tensor, Tensor]:
        """Row and column means of x (N,C,H,W): (N,C,H) and (N,C,W), eqs. 18-19."""
        return x.mean(dim=3), x.mean(dim=2)

    def forward(self, x: Tensor, pooled: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """pooled: (N,C,H) row means and (N,C,W) column means to use instead of x's own."""
        _, _, h, w = x.shape
        z_h, z_w = self.pool(x) if pooled is None else pooled
        z_h = z_h[..., None].to(x.dtype)  # eq. 18: (N,C,H,1)
        z_w = z_w[..., None].to(x.dtype)  # eq. 19: (N,C,W,1)
        f = self.act(self.bn1(self.conv1(torch.cat((z_h, z_w), dim=2))))  # eq. 20
        f_h, f_w = torch.split(f, (h, w), dim=2)  # eq. 21
        g_h = torch.sigmoid(self.conv_h(f_h))  # eq. 22
        g_w = torch.sigmoid(self.conv_w(f_w.transpose(2, 3)))  # eq. 23
        return x * g_h * g_w  # eq. 24


class ChannelAttention(nn.Module):
    """Channel attention: GAP -> 1x1 conv (or a squeeze-excite pair when reduction is set) -> sigmoid -> scale."""

    def __init__(self, channels: int, reduction: int | None = None) -> None:
        super().__init__()
        if reduction is None:
            self.body: nn.Module = nn.Conv2d(channels, channels, 1)
        else:
            mid = max(1, channels // reduction)
            self.body = nn.Sequential(nn.Conv2d(channels, mid, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, channels, 1))

    def forward(self, x: Tensor, pooled: Tensor | None = None) -> Tensor:
        """pooled: (N,C) channel means to use instead of x's own."""
        m = x.mean(dim=(2, 3)) if pooled is None else pooled
        s = torch.sigmoid(self.body(m[:, :, None, None].to(x.dtype)))
        return x * s
