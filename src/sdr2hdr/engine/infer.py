"""Running a model on frames: device and precision, tiling with overlap for big frames, temporal windows.

Classes
- ModelRunner: one forward pass over a (N,3,H,W) or (N,T,3,H,W) batch, tiled when the frame is large
- StreamMapper: the streaming interface the video pipeline uses (push frames, get HDR frames back in order)
- ClassicalStream / ModelStream: StreamMappers for a classical mapping and for a registered model

Tiles overlap and are blended with linear ramps, so seams do not show; multi-frame models see a window of T frames
centred on the frame being restored, the first and last frames repeated at the ends of the clip.
"""

from __future__ import annotations

import abc
import contextlib
import inspect
from collections import deque
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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


class ModelRunner:
    """Runs a model in eval mode on a device and precision, splitting big frames into overlapping tiles."""

    def __init__(self, model: nn.Module, device: str | torch.device = "auto", precision: str = "fp32",
                 tile: int | None = None, overlap: int = 32, channels_last: bool = True, max_value: float = 1.0):
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
        multiple = int(getattr(model, "size_multiple", 1))
        self.tile = None if tile is None else max(multiple, tile // multiple * multiple)
        self.overlap = overlap
        self.max_value = max_value  # PQ code of the mastering peak: outputs are limited to it
        # models with a global condition (AGCM, HDRTVNet, CSRNet) must see the whole frame for it, even when tiled
        self.takes_cond = "cond" in inspect.signature(model.forward).parameters

    @torch.inference_mode()
    def __call__(self, x: Tensor) -> Tensor:
        """SDR R'G'B' batch -> PQ R'G'B' clamped to [0, max_value], float32, on the CPU."""
        h, w = x.shape[-2:]
        if self.tile is None or (h <= self.tile and w <= self.tile):
            return self._forward(x)
        return self._tiled(x)

    def _forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(self.device, self.precision):
            y = self.model(x, cond=cond.to(self.device)) if cond is not None else self.model(x)
        return y.float().clamp_(0.0, self.max_value).cpu()

    def _tiled(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        t, ov, s = self.tile, min(self.overlap, self.tile // 2), self.scale
        step = t - ov
        ys = list(range(0, max(h - t, 0) + 1, step))
        xs = list(range(0, max(w - t, 0) + 1, step))
        if ys[-1] + t < h:
            ys.append(h - t)
        if xs[-1] + t < w:
            xs.append(w - t)
        out = torch.zeros(x.shape[0], 3, h * s, w * s)
        weight = torch.zeros(1, 1, h * s, w * s)
        for y0 in ys:
            for x0 in xs:
                th, tw = min(t, h), min(t, w)
                tile = x[..., y0:y0 + th, x0:x0 + tw]
                pred = self._forward(tile, x if self.takes_cond else None)
                # ramps only where this tile has a neighbour; overlaps smaller than a step blend linearly
                wy = _ramp(th * s, ov * s, y0 == 0, y0 + th >= h)
                wx = _ramp(tw * s, ov * s, x0 == 0, x0 + tw >= w)
                wt = (wy[:, None] * wx[None, :])[None, None]
                out[..., y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += pred * wt
                weight[..., y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += wt
        return out / weight


class StreamMapper(abc.ABC):
    """Streaming frame mapper: push SDR frames in order, receive HDR frames in the same order."""

    name: str = ""
    description: str = ""
    frames: int = 1
    scale: int = 1

    @abc.abstractmethod
    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Take the next SDR frame; return the HDR frames now ready (none yet while a window fills)."""

    def flush(self) -> list[np.ndarray]:
        return []


class ClassicalStream(StreamMapper):
    """A per-pixel mapping (numpy HWC in, numpy HWC out): no delay."""

    def __init__(self, name: str, fn: Callable[[np.ndarray], np.ndarray], description: str = ""):
        self.name, self.fn, self.description = name, fn, description

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.fn(rgb)

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        return [self.fn(rgb)]


def _to_tensor(rgb: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)


def _to_numpy(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.permute(1, 2, 0).numpy())


class ModelStream(StreamMapper):
    """A registered model over a stream: single frames directly, multi-frame models over a centred window."""

    def __init__(self, name: str, runner: ModelRunner, description: str = ""):
        self.name, self.runner = name, runner
        self.frames, self.scale = runner.frames, runner.scale
        self.description = description or name
        self._window: deque[Tensor] = deque(maxlen=self.frames)
        self._pending = 0  # frames pushed whose output is still owed

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """One still: a multi-frame model sees the frame repeated T times."""
        x = _to_tensor(rgb)
        if self.frames == 1:
            return _to_numpy(self.runner(x[None])[0])
        return _to_numpy(self.runner(x[None, None].expand(1, self.frames, *x.shape).contiguous())[0])

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        if self.frames == 1:
            return [self(rgb)]
        x = _to_tensor(rgb)
        if not self._window:
            # the clip's first frame stands in for the frames before it
            for _ in range(self.frames // 2):
                self._window.append(x)
        self._window.append(x)
        self._pending += 1
        return self._emit()

    def _emit(self) -> list[np.ndarray]:
        if len(self._window) < self.frames:
            return []
        self._pending -= 1
        batch = torch.stack(list(self._window))[None]
        return [_to_numpy(self.runner(batch)[0])]

    def flush(self) -> list[np.ndarray]:
        out = []
        while self._pending > 0 and self._window:
            self._window.append(self._window[-1])  # the last frame stands in for the frames after it
            out.extend(self._emit())
        self._window.clear()
        return out
