"""Golden outputs of the shipped weights: each tag's network on one fixed input, recorded by make_golden.py beside it.

A change to a model's code or to its weights that alters what a shipped tag computes shows up here; a new tag
needs its entry made (the test says so).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

GOLDEN = Path(__file__).with_name("golden.json")


def fixed_input(frames: int) -> torch.Tensor:
    """A smooth gradient with texture, 1 x 3 x 40 x 56 (or 1 x T x 3 x 40 x 56): the same bytes on every machine."""
    y, x = np.mgrid[0:40, 0:56].astype(np.float32)
    rgb = np.stack([x / 55.0, y / 39.0, 0.5 + 0.25 * np.sin(x / 3.0) * np.cos(y / 4.0)], 0)
    t = torch.from_numpy(np.clip(rgb, 0.0, 1.0))[None]
    return t[:, None].repeat(1, frames, 1, 1, 1) if frames > 1 else t


def golden_output(name: str) -> dict:
    """The tagged model's output on the fixed input: mean, standard deviation and eight samples (PQ)."""
    from sdr2hdr.models.weights import load_model

    model, path = load_model(name)
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(fixed_input(int(getattr(model, "frames", 1) or 1))).float()
    flat = out.flatten()
    picks = torch.linspace(0, flat.numel() - 1, 8).long()
    return {"mean": float(out.mean()), "std": float(out.std()), "samples": [float(v) for v in flat[picks]],
            "shape": list(out.shape)}


def recorded() -> dict:
    return json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
