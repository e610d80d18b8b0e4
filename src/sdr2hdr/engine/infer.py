"""Running a model on frames: device and precision, tiling with overlap for big frames, temporal windows.

Classes
- ModelRunner: one forward pass over a (N,3,H,W) or (N,T,3,H,W) batch, tiled when the frame is large
- ModelStream: the StreamMapper (engine.stream) for a registered model
- window(frames, index, t): the centred temporal window, the one definition the stream and the benchmark share

Tiles overlap and are blended with linear ramps, so seams do not show; multi-frame models see a window of T frames
centred on the frame being restored, the first and last frames repeated at the ends of the clip.

Global priors (models/base.py): a model with anything computed from the whole frame defines prior(frame) and takes
forward(x, prior=...). A tiled pass computes the prior once on the whole frame (the model reads a thumbnail of
fixed size of it) and hands every tile model.prior_for_tile(prior, box, frame_size), so tiled and whole-frame
outputs agree; the tile overlap defaults to 4x the model's receptive_radius (at least 32 pixels).

On CUDA, frames go to the device once through pinned memory with non-blocking copies, and tiles are cut and blended
there; on the CPU nothing is copied.
"""

from __future__ import annotations

import contextlib
import inspect
from collections import deque
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from sdr2hdr.color import pq_trim
from sdr2hdr.engine.stream import ClassicalStream, StreamMapper
from sdr2hdr.errors import InputError

__all__ = ["ClassicalStream", "ModelRunner", "ModelStream", "StreamMapper", "default_overlap", "pick_device",
           "window"]

T = TypeVar("T")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; a device this machine lacks is an InputError (one line)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"--device {name}: this machine has no CUDA device that PyTorch can use; use --device "
                             f"cpu or auto")
        if device.index is not None and device.index >= count:
            raise InputError(f"--device {name}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"--device {name}: no Apple MPS device here; use --device cpu or auto")
    return device


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return torch.autocast(device_type=device.type, dtype=dtype)


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> Tensor:
    """1-D blending weights for a tile side that touches another tile.

    The outer quarter of the overlap gets weight 0 (those pixels saw the tile's zero padding), the middle half a
    linear ramp, so a net whose receptive radius fits in that quarter tiles exactly and larger ones show no seam.
    """
    w = torch.ones(n)
    halo = overlap // 4
    width = max(overlap - 2 * halo, 1)
    ramp = torch.cat([torch.zeros(halo), (torch.arange(width, dtype=torch.float32) + 0.5) / width])
    if overlap > 0:
        if not at_start:
            w[: len(ramp)] = ramp
        if not at_end:
            w[n - len(ramp):] = torch.flip(ramp, [0])
    return w


def default_overlap(model: nn.Module) -> int:
    """Tile overlap for a model: 4x its receptive_radius (the outer quarter of an overlap is discarded, the middle
    half blended), at least 32 pixels, a multiple of its size_multiple. Models without the attribute get 32."""
    radius = getattr(model, "receptive_radius", None)
    overlap = 32 if radius is None else max(32, 4 * int(radius))
    multiple = int(getattr(model, "size_multiple", 1))
    return -(-overlap // multiple) * multiple


def _tile_spans(n: int, tile: int, step: int, multiple: int) -> list[tuple[int, int]]:
    """(start, end) of the tiles along one side: starts on the model's size_multiple grid, as in a whole-frame pass
    (strided layers then sample the same pixels); the last tile runs to the frame's end, up to multiple - 1 longer."""
    if n <= tile:
        return [(0, n)]
    starts = list(range(0, n - tile + 1, step))
    last = (n - tile) // multiple * multiple
    if last > starts[-1]:
        starts.append(last)
    return [(a, a + tile) for a in starts[:-1]] + [(starts[-1], n)]


class ModelRunner:
    """Runs a model in eval mode on a device and precision, splitting big frames into overlapping tiles.

    overlap=None takes default_overlap(model). A model with a global prior gets it computed once per frame and
    shared by the tiles (module docstring).
    """

    def __init__(self, model: nn.Module, device: str | torch.device = "auto", precision: str = "fp32",
                 tile: int | None = None, overlap: int | None = None, channels_last: bool = True,
                 max_value: float = 1.0, exposure: float = 0.0) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
        self.device = pick_device(device) if isinstance(device, str) else device
        self.model = model.eval().to(self.device)
        if channels_last:
            # only 2-D convolutions have a channels_last layout; 3-D ones (DIDNet's ConditionNet) stay as they are
            for module in self.model.modules():
                if isinstance(module, nn.Conv2d):
                    module.to(memory_format=torch.channels_last)
        self.channels_last = channels_last
        self.precision = precision
        self.scale = int(getattr(model, "scale", 1))
        self.frames = int(getattr(model, "frames", 1))
        self.multiple = int(getattr(model, "size_multiple", 1))
        self.tile = None if tile is None else max(self.multiple, tile // self.multiple * self.multiple)
        self.overlap = default_overlap(model) if overlap is None else overlap
        self.max_value = max_value  # PQ code of the mastering peak: outputs are limited to it
        self.exposure = exposure  # brightness trim in stops, on the output's light before that limit
        # models with a global prior (models/base.py) get it from the whole frame, even when tiled
        self.takes_prior = callable(getattr(model, "prior", None)) and \
            "prior" in inspect.signature(model.forward).parameters

    @torch.inference_mode()
    def __call__(self, x: Tensor) -> Tensor:
        """SDR R'G'B' batch -> PQ R'G'B' clamped to [0, max_value], float32, on the CPU."""
        h, w = x.shape[-2:]
        x = self._to_device(x)
        if self.tile is None or (h <= self.tile and w <= self.tile):
            return self._forward(x).cpu()
        return self._tiled(x).cpu()

    def _to_device(self, x: Tensor) -> Tensor:
        if self.device.type == "cuda" and x.device.type == "cpu":
            # a pinned source lets the copy run asynchronously; the frame crosses once, tiles are cut on the device
            if not x.is_pinned():
                x = x.pin_memory()
            return x.to(self.device, non_blocking=True)
        return x.to(self.device)

    def _forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(self.device, self.precision):
            y = self.model(x) if prior is None else self.model(x, prior=prior)
        y = y.float()
        if self.exposure:
            y = pq_trim(y, self.exposure)
        return y.clamp_(0.0, self.max_value)

    def _tiled(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        t, s, m = self.tile, self.scale, self.multiple
        ov = max(0, min(self.overlap, t // 2) // m * m)
        step = t - ov
        prior = None
        if self.takes_prior:
            # once per frame, from the whole frame (the model reads a fixed-size thumbnail of it)
            with _autocast(self.device, self.precision):
                prior = self.model.prior(x)
        tile_prior = getattr(self.model, "prior_for_tile", None)
        out = torch.zeros(x.shape[0], 3, h * s, w * s, device=x.device)
        weight = torch.zeros(1, 1, h * s, w * s, device=x.device)
        for y0, y1 in _tile_spans(h, t, step, m):
            for x0, x1 in _tile_spans(w, t, step, m):
                tile = x[..., y0:y1, x0:x1]
                p = prior
                if prior is not None and tile_prior is not None:
                    p = tile_prior(prior, (y0, x0, y1 - y0, x1 - x0), (h, w))
                pred = self._forward(tile, p)
                # ramps only where this tile has a neighbour; overlaps smaller than a step blend linearly
                wy = _ramp((y1 - y0) * s, ov * s, y0 == 0, y1 >= h).to(x.device)
                wx = _ramp((x1 - x0) * s, ov * s, x0 == 0, x1 >= w).to(x.device)
                wt = (wy[:, None] * wx[None, :])[None, None]
                out[..., y0 * s:y1 * s, x0 * s:x1 * s] += pred * wt
                weight[..., y0 * s:y1 * s, x0 * s:x1 * s] += wt
        return out / weight


def _to_tensor(rgb: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)


def _to_numpy(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.permute(1, 2, 0).numpy())


def window(frames: Sequence[T], index: int, t: int) -> list[T]:
    """The t frames centred on frames[index]; the first and last frames stand in for frames beyond the ends.

    >>> window([0, 1, 2, 3], 0, 3)
    [0, 0, 1]
    >>> window([0, 1, 2, 3], 3, 5)
    [1, 2, 3, 3, 3]
    """
    half = t // 2
    return [frames[min(max(j, 0), len(frames) - 1)] for j in range(index - half, index - half + t)]


class ModelStream(StreamMapper):
    """A registered model over a stream: single frames directly, multi-frame models over a centred window."""

    def __init__(self, name: str, runner: ModelRunner, description: str = "") -> None:
        self.name, self.runner = name, runner
        self.frames, self.scale = runner.frames, runner.scale
        self.description = description or name
        # the last T frames: with the clip's ends they are all a centred window needs (engine.infer.window)
        self._recent: deque[Tensor] = deque(maxlen=self.frames)
        self._seen = 0  # frames pushed
        self._next = 0  # the frame whose output is owed next

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """One still: a multi-frame model sees the frame repeated T times."""
        x = _to_tensor(rgb)
        if self.frames == 1:
            return _to_numpy(self.runner(x[None])[0])
        return _to_numpy(self.runner(x[None, None].expand(1, self.frames, *x.shape).contiguous())[0])

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        if self.frames == 1:
            return [self(rgb)]
        self._recent.append(_to_tensor(rgb))
        self._seen += 1
        return self._emit(final=False)

    def _emit(self, final: bool) -> list[np.ndarray]:
        """Outputs for every owed frame whose window is complete (all owed frames when the clip has ended)."""
        out = []
        half = self.frames // 2
        while self._next < self._seen and (final or self._next + half < self._seen):
            first = self._seen - len(self._recent)  # clip index of self._recent[0]
            batch = torch.stack(window(list(self._recent), self._next - first, self.frames))[None]
            out.append(_to_numpy(self.runner(batch)[0]))
            self._next += 1
        return out

    def flush(self) -> list[np.ndarray]:
        out = self._emit(final=True)
        self._recent.clear()
        self._seen = self._next = 0
        return out
