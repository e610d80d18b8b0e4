"""Small PQ test images for the metric tests: a smooth scene with texture, and degraded versions of it."""

from __future__ import annotations

import torch


def pq_scene(n: int = 2, size: int = 64, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    """(n, 3, size, size) PQ R'G'B' images: coloured ramps over PQ 0.15-0.95 (0.3 to 6000 cd/m2) plus fine texture."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size, dtype=torch.float64),
                            torch.linspace(0, 1, size, dtype=torch.float64), indexing="ij")
    imgs = []
    for _ in range(n):
        tint = torch.rand(3, 1, 1, generator=g, dtype=torch.float64) * 0.2
        base = 0.15 + 0.55 * (0.6 * xx + 0.4 * yy) + tint
        texture = 0.05 * torch.rand(1, size, size, generator=g, dtype=torch.float64)
        imgs.append((base + texture).clamp(0, 1))
    return torch.stack(imgs).to(dtype)


def degrade(x: torch.Tensor, sigma: float, seed: int = 1) -> torch.Tensor:
    """``x`` plus Gaussian noise of standard deviation ``sigma`` (in PQ code units), clipped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype)).clamp(0, 1)
