"""CSRNet (He et al., "Conditional Sequential Modulation for Efficient Global Image Retouching", ECCV 2020).

Defines:
    ConditionNet   ZeroPad(1) + conv 7x7/2, then two conv 3x3/2 (ReLU each), mean over space -> 32-d condition.
    CSRNet         base network of three 1x1 convs 3-64-64-3 modulated by the condition (GFM, residual form).

The authors' condition network reads the whole image at its own size; its strided convs and global mean then give a
different condition for the same picture at another resolution, and a different one for each tile of a frame. Here
it reads a thumbnail of fixed short side (`cond_size`, 64; None restores the authors' full-size input).

The authors' definition (base_nf=64, cond_nf=32) counts 36,489 parameters, KPNet's table's "36K". DIDNet's table
prints 0.006M for CSRNet, which matches no configuration of the authors' code that we could find (their small
variant, base_nf=16 / cond_nf=8, has 3,369); the summary keeps the authors' 36,489.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel
from .blocks.condition import thumbnail
from .blocks.modulation import GFM
from .registry import ModelSummary, register_model


class ConditionNet(nn.Module):
    """Three strided convs and a global mean: the global retouching condition of CSRNet."""

    def __init__(self, nf: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, nf, 7, stride=2)
        self.conv2 = nn.Conv2d(nf, nf, 3, stride=2)
        self.conv3 = nn.Conv2d(nf, nf, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        # the authors zero-pad by 1 before each unpadded strided conv
        f = F.relu(self.conv1(F.pad(x, (1, 1, 1, 1))))
        f = F.relu(self.conv2(F.pad(f, (1, 1, 1, 1))))
        f = F.relu(self.conv3(F.pad(f, (1, 1, 1, 1))))
        return f.mean(dim=(2, 3))


class CSRNet(HDRModel):
    """Per-pixel 1x1 network with global feature modulation.

    Global-prior protocol (base.py): prior(frame) is the (N, cond_nf) condition of the whole frame, read from a
    thumbnail of short side cond_size; forward(x, prior=None) maps a frame or any tile of it with that condition.
    """

    receptive_radius = 0  # 1x1 convolutions

    def __init__(self, base_nf: int = 64, cond_nf: int = 32, cond_size: int | None = 64) -> None:
        super().__init__()
        self.cond_size = cond_size
        self.cond_net = ConditionNet(cond_nf)
        self.conv1 = GFM(3, base_nf, cond_nf)
        self.conv2 = GFM(base_nf, base_nf, cond_nf)
        self.conv3 = GFM(base_nf, 3, cond_nf)

    def prior(self, image: Tensor) -> Tensor:
        """The (N, cond_nf) retouching condition of a whole frame."""
        return self.cond_net(image if self.cond_size is None else thumbnail(image, self.cond_size))

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        self.check_input(x)
        c = self.prior(x) if prior is None else prior
        out = F.relu(self.conv1(x, c))
        out = F.relu(self.conv2(out, c))
        return self.conv3(out, c)


@register_model(
    ModelSummary(
        name="csrnet",
        paper="He, Liu, Qiao, Dong. Conditional Sequential Modulation for Efficient Global Image Retouching, ECCV 2020",
        task="ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B' (as trained by KPNet / DIDNet: SDR BT.709 gamma in, HDR10 out)",
        paper_params=36_489,
        params_exact=True,
        paper_runtime="0.8 ms per 1080p frame (DIDNet table 1)",
        paper_recipe="L1, Adam; retrained as an SDR->HDR baseline in KPNet and DIDNet",
        notes="authors' base_nf=64, cond_nf=32: 36,489 (KPNet table: 36K; DIDNet table prints 0.006M)",
    )
)
def csrnet(**kwargs: Any) -> CSRNet:
    """CSRNet."""
    return CSRNet(**kwargs)
