"""The base class every registered model derives from: the input/output contract in one place.

Defines:
    HDRModel        nn.Module with class attributes `scale`, `frames`, `size_multiple`, `receptive_radius`,
                    `aux_outputs`, `forward_with_aux(x) -> dict`, `unused_parameters()`, `prior_for_tile()` and
                    input checking.
    pad_to_multiple(x, multiple) / crop(x, h, w)   reflect-pad a frame so strided layers line up, crop back.

Contract (see registry.py): forward(x) takes SDR R'G'B' in [0,1], (N,3,H,W) for single-frame models or
(N,T,3,H,W) with T == frames for multi-frame ones, and returns PQ R'G'B' (N,3,H*scale,W*scale), the centre
frame for multi-frame models. No clamp: the engine clamps at inference.

Global-prior protocol, for models with anything computed from the whole input rather than a neighbourhood
(a colour condition, a pooled attention statistic): such a model defines
    prior(frame) -> Tensor            computed once per frame (or clip) from a thumbnail of fixed size of the
                                      whole frame (blocks.condition.thumbnail), so it is the same for the same
                                      picture at any resolution;
    forward(x, prior=None)            x may be a tile of the frame; prior=None computes prior(x) from x itself,
                                      which is the whole-frame result when x is the whole frame;
    prior_for_tile(prior, box, size)  what one tile needs of the frame's prior (the prior itself unless it
                                      depends on position, as KPNet's row and column profiles do).
An engine tiling a frame (engine.infer.ModelRunner) calls prior on the whole frame once and passes
prior_for_tile(...) to every tile, so tiled and whole-frame outputs agree.
"""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, int, int]:
    """Reflect-pad the last two dims of x up to a multiple; returns the padded tensor and the original H, W."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, h, w
    # reflect needs the pad smaller than the side; replicate covers tiny inputs
    mode = "reflect" if ph < h and pw < w else "replicate"
    lead = x.shape[:-3]
    flat = x.reshape(-1, *x.shape[-3:])
    flat = F.pad(flat, (0, pw, 0, ph), mode=mode)
    return flat.reshape(*lead, *flat.shape[-3:]), h, w


def crop(x: Tensor, h: int, w: int) -> Tensor:
    """Top-left h x w crop of the last two dims."""
    return x[..., :h, :w]


class HDRModel(nn.Module):
    """Base of every SDR -> HDR model: shape contract, auxiliary outputs by name, documented unused parameters."""

    # scale and frames are class attributes with the registered default; a builder choosing another value
    # (deep_sr_itm_x4, DIDNet(frames=3)) overrides them on the instance.
    #: output size / input size
    scale: int = 1
    #: frames per call; 1 means (N,3,H,W) input, T > 1 means (N,T,3,H,W) and the centre frame is restored
    frames: int = 1
    #: the model pads H and W internally to this multiple; engines tiling frames may use it to avoid the padding
    size_multiple: ClassVar[int] = 1
    #: names of the extra entries forward_with_aux returns beside "main"
    aux_outputs: ClassVar[tuple[str, ...]] = ()
    #: input pixels beyond which zero padding at a tile's edge no longer changes the output visibly (effective, as
    #: measured; the theoretical receptive field of deep nets is larger); ModelRunner overlaps tiles by 4x this
    receptive_radius: ClassVar[int] = 8

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error if x does not have the shape this model takes."""
        frames = self.frames
        if frames == 1:
            if x.dim() != 4 or x.shape[1] != 3:
                raise ValueError(f"{type(self).__name__} takes (N,3,H,W) SDR R'G'B', got {tuple(x.shape)}")
        elif x.dim() != 5 or x.shape[1] != frames or x.shape[2] != 3:
            raise ValueError(f"{type(self).__name__} takes (N,{frames},3,H,W) SDR R'G'B', got {tuple(x.shape)}")

    def forward_with_aux(self, x: Tensor) -> dict[str, Tensor]:
        """Main output and any auxiliary outputs by name; models without auxiliary outputs return {"main": ...}."""
        return {"main": self(x)}

    def prior_for_tile(self, prior: Tensor, box: tuple[int, int, int, int], frame_size: tuple[int, int]) -> Tensor:
        """The part of the frame's prior a tile needs: box = (top, left, height, width) of the tile in the frame of
        frame_size = (height, width), input pixels. A prior that does not depend on position serves every tile."""
        return prior

    def unused_parameters(self) -> tuple[str, ...]:
        """Names of parameters the module defines but forward never uses (kept for the authors' checkpoints)."""
        return ()
