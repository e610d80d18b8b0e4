"""Helpers for the data tests: tiny HDR EXRs made on the spot and a tiny build recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdr2hdr.data.recipe import Recipe
from sdr2hdr.io import write_exr

GREY = 0.3  # scene-linear value of the constant grey card


def textured_exr(path: Path, seed: int = 0, hw: tuple[int, int] = (120, 160)) -> Path:
    """Smooth random texture over 4 stops plus a few highlights 50x above it: a small HDR 'photograph'."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = hw
    noise = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 3)
    img = np.exp2(4 * noise / (np.abs(noise).max() + 1e-6)) * 0.2
    yy, xx = rng.integers(5, h - 5, 4), rng.integers(5, w - 5, 4)
    img[yy, xx] = 10.0
    write_exr(path, img.astype(np.float32), half=False)
    return path


def grey_exr(path: Path, hw: tuple[int, int] = (100, 140)) -> Path:
    write_exr(path, np.full(hw + (3,), GREY, np.float32), half=False)
    return path


def tiny_recipe(**kw) -> Recipe:
    base = dict(seed=3, size=(64, 64), frames=4, clips_per_source={"train": 2, "test": 1}, test_fraction=0.5,
                qps=(27, 42), scales=(1, 2, 4), x265_preset="ultrafast", exposure_stops=(0.0, 0.0))
    base.update(kw)
    return Recipe(**base)
