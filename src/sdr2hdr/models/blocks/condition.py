"""Global condition networks that turn a (downsampled) frame into a small prior vector.

Defines:
    CCCB            colour condition block: 1x1 conv -> avgpool(3, 2, 1) -> leaky relu 0.2 -> instance norm
                    (AGCM's colour block; GPGMNet eq. 3 calls it CCCB).
    ColorCondition  AGCM's condition network: five CCCBs 3-16-32-64-128-128 (no norm on the last),
                    dropout 0.5, 1x1 conv to the prior size, global average pool.
    condition_image(x, scale, min_size, size)   the frame the condition net sees: bicubic downsampling by
                    `scale`, never below min_size pixels on the short side; or, given `size`, a thumbnail with
                    that short side whatever the input size.
    thumbnail_size(h, w, size)   the (height, width) condition_image gives an h x w frame for a short side `size`.
    thumbnail(x, size)           condition_image(x, size=size) for (N,3,H,W) frames and (N,T,3,H,W) clips.

The global-prior protocol (engine/infer.py) builds on `thumbnail`: a model's prior reads a fixed-size view of
the whole frame, so tiles of a frame share it and the same picture at another resolution gets the same prior.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

AGCM_CHANNELS = (3, 16, 32, 64, 128, 128)

# five stride-2 pools take a side to ceil(side / 32); the instance norm of the fourth block needs at least 2x2,
# which a 32-pixel condition image guarantees
MIN_CONDITION_SIDE = 32


class CCCB(nn.Module):
    """Colour condition block: per-pixel 1x1 conv, 3x3 average pool with stride 2, leaky relu, instance norm."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)
        self.act = nn.LeakyReLU(0.2)
        self.norm = nn.InstanceNorm2d(out_channels, affine=True) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.act(self.pool(self.conv(x))))


class ColorCondition(nn.Module):
    """AGCM condition network: 5 CCCBs, dropout, 1x1 conv, global average pool -> (N, out_dim) prior."""

    def __init__(self, out_dim: int, channels: tuple[int, ...] = AGCM_CHANNELS, dropout: float = 0.5) -> None:
        super().__init__()
        last = len(channels) - 2
        self.blocks = nn.Sequential(
            *(CCCB(channels[i], channels[i + 1], norm=i != last) for i in range(len(channels) - 1))
        )
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv2d(channels[-1], out_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.dropout(self.blocks(x))).mean(dim=(2, 3))


def condition_image(x: Tensor, scale: int = 4, min_size: int = MIN_CONDITION_SIDE, size: int | None = None) -> Tensor:
    """x bicubic-downsampled by `scale` (antialiased, as MATLAB imresize), short side kept >= min_size.

    At video sizes this is the authors' 1/4 bicubic condition image; only inputs smaller than
    scale * min_size (test patches) are resized less, so the instance norms never see a single pixel.
    With `size`, the short side is `size` at any input size: a condition net whose pools and instance norms
    read a different number of pixels at each input size gives a different prior for the same picture.
    """
    h, w = x.shape[-2:]
    short = min(h, w)
    target = max(min_size, short // scale) if size is None else size
    if target == short:
        return x
    return F.interpolate(x, size=thumbnail_size(h, w, target), mode="bicubic", align_corners=False,
                         antialias=target < short)


def thumbnail_size(h: int, w: int, size: int) -> tuple[int, int]:
    """Height and width of the thumbnail with short side `size` of an h x w frame (aspect ratio kept)."""
    if min(h, w) == size:
        return h, w
    factor = size / min(h, w)
    return max(1, round(h * factor)), max(1, round(w * factor))


def thumbnail(x: Tensor, size: int) -> Tensor:
    """The frame (N,3,H,W) or clip (N,T,3,H,W) resized to short side `size` (antialiased bicubic; x itself when
    it already has that short side, so a model trained on patches of that size reads them unchanged)."""
    if x.dim() == 4:
        return condition_image(x, size=size)
    n, t = x.shape[:2]
    small = condition_image(x.flatten(0, 1), size=size)
    return small.view(n, t, *small.shape[1:])
