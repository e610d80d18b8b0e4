"""Input handling shared by every metric: numpy HWC / torch NCHW in, a batched NCHW tensor pair out."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["as_batch", "batched", "nan_mean"]


def as_batch(x: np.ndarray | torch.Tensor, name: str = "input") -> tuple[torch.Tensor, bool, bool]:
    """Bring one image argument to a float (N, 3, H, W) tensor.

    Accepts a torch tensor (N, 3, H, W) or (3, H, W), or a numpy array (H, W, 3) or (N, H, W, 3)
    (the project's numpy convention: channel last). Integer arrays are refused: metrics take the
    [0, 1] signal, and guessing the code range of integers is how data_range mistakes start.
    Returns the tensor, whether the input was numpy, and whether it was a single image.
    """
    was_numpy = not isinstance(x, torch.Tensor)
    if was_numpy:
        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            raise TypeError(f"{name}: expected a float array in [0, 1], got dtype {arr.dtype}")
        if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
            raise ValueError(f"{name}: numpy images must be (H, W, 3) or (N, H, W, 3), got {arr.shape}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
        single = t.ndim == 3
        t = t.unsqueeze(0) if single else t
        t = t.permute(0, 3, 1, 2)
    else:
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a float tensor in [0, 1], got dtype {x.dtype}")
        if x.ndim not in (3, 4) or x.shape[-3] != 3:
            raise ValueError(f"{name}: torch images must be (N, 3, H, W) or (3, H, W), got {tuple(x.shape)}")
        single = x.ndim == 3
        t = x.unsqueeze(0) if single else x
    return t, was_numpy, single


def batched(fn: Callable) -> Callable:
    """Wrap ``fn(pred, ref, **kw) -> (N,) tensor`` on NCHW tensors so that it also takes numpy / unbatched input.

    A numpy input gives a numpy result; a single image (HWC or CHW) gives a scalar (0-d) result.
    """

    @functools.wraps(fn)
    def wrapper(pred, ref, *args, **kwargs):
        p, p_np, p_single = as_batch(pred, "pred")
        r, r_np, r_single = as_batch(ref, "ref")
        if p.shape != r.shape:
            raise ValueError(f"pred and ref differ in shape: {tuple(p.shape)} vs {tuple(r.shape)} (NCHW)")
        if p.dtype != r.dtype:
            # promote rather than refuse: a float32 prediction against a float64 reference is common
            dt = torch.promote_types(p.dtype, r.dtype)
            p, r = p.to(dt), r.to(dt)
        out = fn(p, r, *args, **kwargs)
        if p_single and r_single:
            out = out[0]
        if p_np or r_np:
            out = out.detach().cpu().numpy()
            return out[()] if out.ndim == 0 else out
        return out

    return wrapper


def nan_mean(values: torch.Tensor | np.ndarray) -> float:
    """Mean over images that ignores NaN (a metric that was undefined for an image) and returns NaN if all are.

    Use this, not ``.mean()``, to aggregate per-image values: one undefined VSI or mPSNR must not erase a table
    cell, and an infinite PSNR (identical images) stays infinite, as it should.
    """
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    keep = ~torch.isnan(v)
    if not bool(keep.any()):
        return float("nan")
    return float(v[keep].mean())
