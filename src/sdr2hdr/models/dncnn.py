"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser", TIP 2017), the restoration baseline of KPNet's cascades.

Defines:
    DnCNN   17 conv layers of 64 channels (conv+ReLU, 15 x conv+BN+ReLU, conv), residual output x - n.

Layout of KAIR's network_dncnn (bias on every conv) with 3 input and output channels: 559,363 parameters, KPNet's
table's "559K".
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .base import HDRModel
from .registry import ModelSummary, register_model


class DnCNN(HDRModel):
    """Residual denoiser: predicts the artefact/noise map and subtracts it from the input."""

    # 17 stacked 3x3 convolutions see 17 px each way; the default 8 let trained weights differ by ~4 codes at tile edges
    receptive_radius = 17

    def __init__(self, ch: int = 64, depth: int = 17, channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch, eps=1e-4), nn.ReLU(True)]
        layers.append(nn.Conv2d(ch, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return x - self.body(x)


@register_model(
    ModelSummary(
        name="dncnn",
        paper="Zhang, Zuo, Chen, Meng, Zhang. Beyond a Gaussian Denoiser: Residual Learning of Deep CNN, TIP 2017",
        task="restoration (compressed ITM baseline)",
        scale=1,
        frames=1,
        input_domain="R'G'B' (KPNet trains it directly CSDR -> HDR, and as the first stage of cascades)",
        paper_params=559_000,
        paper_runtime="not reported",
        paper_recipe="KPNet's protocol: L1, Adam, HDRTV1K coded with HM 16.9 intra at QP 32/37/42/47",
        notes="KPNet table 1: 559K; KAIR layout (bias on all convs, BN on the 15 middle layers)",
    )
)
def dncnn(**kwargs: Any) -> DnCNN:
    """DnCNN, colour, 17 layers."""
    return DnCNN(**kwargs)
