"""Global-prior protocol: tiles of a frame share its prior, and a picture's prior does not depend on its size."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_tools import SAMPLE
from torch import Tensor, nn

from sdr2hdr.engine.infer import ModelRunner
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import load_weights, shipped_weights

MODELS = list_models()
WITH_PRIOR = [n for n in MODELS if callable(getattr(create(n), "prior", None))]
CODE = 1 / 1023  # one 10-bit code of PQ


@functools.lru_cache(maxsize=1)
def _sample_frame() -> Tensor:
    """The bundled sample's first frame, (1,3,540,960) SDR R'G'B': a real picture, not noise."""
    with VideoReader(SAMPLE) as reader:
        for kind, frame in reader.items():
            if kind == "frame":
                rgb = np.ascontiguousarray(reader.rgb(frame), dtype=np.float32)
                return torch.from_numpy(rgb).permute(2, 0, 1)[None]
    raise AssertionError("the sample has no frame")


def picture(h: int, w: int) -> Tensor:
    """The sample frame resized (antialiased bicubic) to h x w."""
    return F.interpolate(_sample_frame(), size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def model_input(model: nn.Module, h: int, w: int) -> Tensor:
    """A frame, or for multi-frame models a clip of T crops panning 2 pixels a frame (motion to align)."""
    frames = getattr(model, "frames", 1)
    if frames == 1:
        return picture(h, w)
    wide = picture(h, w + 2 * frames)
    return torch.stack([wide[..., 2 * k:2 * k + w] for k in range(frames)], dim=1)


def trained_or_seeded(name: str) -> nn.Module:
    """The shipped weights where the package has them (a trained KPNet leans on its attention profiles far more
    than a random one), seeded random weights otherwise."""
    torch.manual_seed(0)
    model = create(name)
    path = shipped_weights(name)
    if path is not None:
        load_weights(model, path)
    return model.eval()


class _Spread(nn.Module):
    """The model's output moved to PQ 0.5 with a spread of 0.15, as a graded picture's.

    Random weights give outputs that are tiny or mostly below zero, which the runner's clamp would hide; on this
    scale a difference of 2 codes means what it means for a real HDR picture.
    """

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.inner, self.mean, self.std = model, mean, std
        for attr in ("scale", "frames", "size_multiple", "receptive_radius"):
            setattr(self, attr, getattr(model, attr))
        if callable(getattr(model, "prior", None)):
            self.prior, self.prior_for_tile = model.prior, model.prior_for_tile

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        y = self.inner(x) if prior is None else self.inner(x, prior=prior)
        return 0.5 + 0.15 * (y - self.mean) / self.std


@pytest.mark.parametrize("name", MODELS)
def test_tiled_output_equals_the_whole_frame_output(name):
    model = trained_or_seeded(name)
    # the runner's own overlap (4x the model's receptive radius): what a tiled conversion uses; tiles of twice that,
    # three of them along each side, so each tile sees well under half of the frame
    overlap = ModelRunner(model, device="cpu").overlap
    tile = max(64, 2 * overlap)
    h, w = 2 * tile, 2 * tile + overlap
    with torch.no_grad():
        y = model(model_input(model, h // 2, w // 2))
    spread = _Spread(model, y.mean().item(), y.std().item())
    x = model_input(model, h, w)
    whole = ModelRunner(spread, device="cpu", tile=None)(x)
    tiled = ModelRunner(spread, device="cpu", tile=tile)(x)
    assert tiled.shape == whole.shape == (1, 3, h * model.scale, w * model.scale)
    diff = (tiled - whole).abs().max().item()
    assert diff <= 2 * CODE, f"{name}: tiles differ from the whole frame by {diff / CODE:.2f} codes"


@pytest.mark.parametrize("name", WITH_PRIOR)
def test_prior_does_not_change_when_the_picture_is_resized(name):
    torch.manual_seed(0)
    model = create(name).eval()
    for p in model.parameters():
        # a zero-initialised head would make every picture's prior zero and hide a prior that ignores its input
        if not p.detach().abs().sum():
            nn.init.normal_(p, std=0.05)
    big = model_input(model, 192, 320)
    small = F.interpolate(big.flatten(0, -4), size=(96, 160), mode="bicubic", antialias=True,
                          align_corners=False).clamp(0, 1).view(*big.shape[:-2], 96, 160)
    other = big.flip(-1)[..., [2, 0, 1], :, :] * 0.8  # another picture: mirrored, colours rotated, darker
    with torch.no_grad():
        reference, halved, different = model.prior(big), model.prior(small), model.prior(other)
    assert reference.shape == halved.shape
    size = reference.abs().max()
    assert (halved - reference).abs().max() <= 0.01 * size, name
    # and the prior does describe the picture
    assert (different - reference).abs().max() >= 0.03 * size, name
