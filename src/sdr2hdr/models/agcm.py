"""AGCM, the adaptive global colour mapping of HDRTVNet (Chen et al., "A New Journey from SDRTV to HDRTV", ICCV 2021).

Defines:
    AGCM   condition network on a 32-pixel-high thumbnail -> 6-d prior; base network of three 1x1 convs 3-64-64-3, each
           output globally modulated (GFM, residual form out * scale + shift + out), ReLU after the first two.

35,251 parameters, as the authors' code (Condition_arch.ConditionNet, cond_c=6).

The authors condition on the whole 1080p frame downscaled x4, one size in training and testing. Here frames
come at every size (training patches, 256-pixel test frames, 4K video), and the condition net's five pools,
instance norms and global mean give a different prior for the same picture at a different size: trained on
128-pixel patches (a 32-pixel condition image) and tested on 256-pixel frames (64 pixels), the shipped weights
lost 2 dB. So the prior reads a thumbnail of fixed short side (`cond_size`, 32); `cond_size=None` restores the
authors' x4 downscale.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from .base import HDRModel
from .blocks.condition import ColorCondition, condition_image
from .blocks.modulation import GFM
from .registry import ModelSummary, register_model


class AGCM(HDRModel):
    """Adaptive global colour mapping: a per-pixel MLP whose layers are modulated by a global colour prior.

    Global-prior protocol (base.py): prior(frame) is the (N, cond_dim) colour prior of the whole frame, read from a
    thumbnail of short side cond_size; forward(x, prior=None) maps x (a frame or any tile of it) with that prior,
    computed from x itself when not given. The authors too compute the prior from the whole frame when the
    network sees a crop.
    """

    receptive_radius = 0  # 1x1 convolutions: tiles need no overlap beyond the engine's minimum

    def __init__(self, ch: int = 64, cond_dim: int = 6, cond_scale: int = 4, cond_size: int | None = 32) -> None:
        super().__init__()
        self.cond_scale, self.cond_size = cond_scale, cond_size
        self.condition = ColorCondition(cond_dim)
        self.conv_first = GFM(3, ch, cond_dim)
        self.conv_hr = GFM(ch, ch, cond_dim)
        self.conv_last = GFM(ch, 3, cond_dim)

    def prior(self, image: Tensor) -> Tensor:
        """The (N, cond_dim) global colour prior of a full frame."""
        return self.condition(condition_image(image, self.cond_scale, size=self.cond_size))

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        self.check_input(x)
        p = self.prior(x) if prior is None else prior
        out = F.relu(self.conv_first(x, p))
        out = F.relu(self.conv_hr(out, p))
        return self.conv_last(out, p)


_HDRTV_RECIPE = (
    "authors' options: L1, Adam (0.9, 0.99), 1M iterations, lr halved at 200k/400k/600k/800k; AGCM lr 5e-4, "
    "batch 4, 480 patches, condition = whole frame bicubic /4; then LE on AGCM outputs, lr 2e-4, batch 16, "
    "160 patches; HDRTV1K (1235 training frames)"
)


@register_model(
    ModelSummary(
        name="agcm",
        paper="Chen, Zhang, Ren, Tian, Qiao, Dong. A New Journey from SDRTV to HDRTV (HDRTVNet stage 1), ICCV 2021",
        task="ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B': SDR BT.709 gamma in, HDR10 (BT.2020 PQ) out",
        paper_params=35_251,
        params_exact=True,
        paper_runtime="2.0 ms per 1080p frame (DIDNet table 1)",
        paper_recipe=_HDRTV_RECIPE,
        notes="DIDNet table 1 lists 0.035M; the authors' module counts 35,251",
    )
)
def agcm(**kwargs: Any) -> AGCM:
    """AGCM."""
    return AGCM(**kwargs)
