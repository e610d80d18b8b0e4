"""Shared pieces of the training tests: the repository's configs and a fixed synthetic batch for any model."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset


class FixedPairs(Dataset):
    """`items` random SDR/HDR pairs of exactly one patch each, so every batch of `items` is the same batch.

    Shapes follow the model: lq (3,p/s,p/s) or (T,3,p/s,p/s), hdr (3,p,p), sdr_hq (3,p/s,p/s). The HDR target
    is a fixed smooth function of the SDR centre frame, so a few steps of any model reduce the loss.
    """

    def __init__(self, items: int, patch: int, scale: int, frames: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        lp = patch // scale
        base = torch.rand(items, 3, lp // 4 + 1, lp // 4 + 1, generator=g)
        sdr = torch.nn.functional.interpolate(base, size=(lp, lp), mode="bilinear", align_corners=False)
        self.sdr_hq = sdr
        self.hdr = (0.1 + 0.6 * torch.nn.functional.interpolate(sdr, size=(patch, patch), mode="bilinear",
                                                                align_corners=False) ** 1.5)
        noisy = (sdr + 0.02 * torch.randn(sdr.shape, generator=g)).clamp(0, 1)
        self.lq = noisy if frames == 1 else noisy[:, None].repeat(1, frames, 1, 1, 1)

    def __len__(self) -> int:
        return len(self.hdr)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"lq": self.lq[i], "hdr": self.hdr[i], "sdr_hq": self.sdr_hq[i]}


@pytest.fixture
def fixed_pairs():
    return FixedPairs


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread per test process: with `pytest -n 2` on 2 busy cores, two OpenMP threads per worker
    spin against each other and run several times slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
