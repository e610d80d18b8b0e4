"""Informed mode's restoration: the known curve's exact inverse, then a CNN that removes what coding and clipping left.

DIDNet's dual inverse degradation in its simplest form: when the curve that made the SDR is known (a broadcast
round trip through BT.2446 A or C), the inverse tone mapping is solved exactly (tonemap.source_inverse), and only
the other degradation (HEVC artifacts, 8-bit banding, the BT.709 gamut clip), which the inverse expands along
with the signal, is left to learn. The network sees the SDR and the inverse's PQ output and adds a correction.

Defines:
    RestorationNet   [SDR R'G'B', inverse PQ] -> PQ correction (3x3 convolutions, zero-initialised output, so an
                     untrained net is the exact inverse).
    InformedITM      exact inverse of `curve` + RestorationNet; registered as informed_<curve> for every curve.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .base import HDRModel
from .registry import ModelSummary, register_model


class RestorationNet(nn.Module):
    """Residual CNN on [SDR, inverse PQ]: deblocking, debanding and gamut restoration in the PQ domain."""

    def __init__(self, ch: int = 32, layers: int = 5) -> None:
        super().__init__()
        body = [nn.Conv2d(6, ch, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(layers - 1):
            body += [nn.Conv2d(ch, ch, 3, padding=1), nn.LeakyReLU(0.1)]
        body.append(nn.Conv2d(ch, 3, 3, padding=1))
        self.body = nn.Sequential(*body)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, sdr: Tensor, inv: Tensor) -> Tensor:
        return inv + self.body(torch.cat([sdr, inv], 1))


class InformedITM(HDRModel):
    """SDR known to come from HDR through `curve` -> PQ: exact inverse (numpy, no gradient) + RestorationNet."""

    receptive_radius = 6

    def __init__(self, curve: str) -> None:
        super().__init__()
        self.curve = curve
        self.restore = RestorationNet()

    def inverse(self, x: Tensor) -> Tensor:
        """The exact inverse of the curve, per pixel, (N, 3, H, W) SDR -> PQ."""
        from ..tonemap.source_inverse import source_inverse

        fn = source_inverse(self.curve)
        rgb = x.detach().float().permute(0, 2, 3, 1).cpu().numpy()
        pq = np.stack([np.asarray(fn(f), dtype=np.float32) for f in rgb])
        return torch.from_numpy(pq).permute(0, 3, 1, 2).to(x.device)

    def forward(self, x: Tensor, inv: Tensor | None = None) -> Tensor:
        self.check_input(x)
        return self.restore(x, self.inverse(x) if inv is None else inv)


def _register(curve: str) -> None:
    summary = ModelSummary(
        name=f"informed_{curve}",
        paper="sdr2hdr's own: informed mode (exact inverse + restoration, after DIDNet's dual inverse degradation)",
        task="ITM, known source curve",
        scale=1,
        frames=1,
        input_domain="R'G'B': SDR BT.709 gamma in (made from HDR by the named curve), HDR10 (BT.2020 PQ) out",
        paper_params=39_619,
        params_exact=True,
        paper_runtime="exact inverse per pixel + a 5-layer 32-channel CNN",
        paper_recipe="trained on the fixed builder's clips of that curve (QPs 27-47), L1 on PQ",
        notes=f"convert --source-tmo {curve}",
    )
    register_model(summary)(lambda **kw: InformedITM(curve, **kw))


for _curve in ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera"):
    _register(_curve)
