"""Metric tests run single-threaded on small PQ images made here (fixtures ``pq_scene`` and ``degrade``)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """torch.set_num_threads(1) for the test, restored afterwards (the setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(name="pq_scene")
def pq_scene_fixture():
    """The scene maker below, as a fixture: tests get it without importing from a conftest."""
    return pq_scene


@pytest.fixture(name="degrade")
def degrade_fixture():
    """The degradation below, as a fixture."""
    return degrade


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
