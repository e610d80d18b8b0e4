"""Numpy / torch dispatch for the colour maths: one code path, either array type.

Functions: is_torch, channel_axis, as_float, matrix_like, spow, log, exp, clip, where, maximum, channel_max,
round_, take, split3, concat, stack, matmul_channels.

Every function returns the type it was given (numpy array or torch tensor, same device). Nothing here
modifies its inputs in place, so torch autograd sees plain differentiable ops. Layouts and value conventions:
docs/conventions.md.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch as _torch_module


class _LazyTorch:
    """Stands for the torch module and imports it on first attribute use, so numpy-only work never loads torch.

    Only tensor paths touch it, and a tensor exists only once its caller has imported torch.
    """

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module("torch")
        globals()["torch"] = module  # from now on the functions below see the module itself
        return getattr(module, name)


torch = _LazyTorch()

#: what the colour functions take: anything numpy reads as an array (arrays, scalars, nested lists) or a torch
#: tensor; they return a numpy array or a tensor of the same kind
Array: TypeAlias = Union[npt.ArrayLike, "_torch_module.Tensor"]  # noqa: UP007


def is_torch(x: Array) -> bool:
    """True when ``x`` is a torch tensor (asked of sys.modules: without torch imported, nothing is a tensor)."""
    module = sys.modules.get("torch")
    return module is not None and isinstance(x, module.Tensor)


def channel_axis(x: Array, axis: int | None) -> int:
    """The colour axis: ``axis`` when given, else -1 for numpy (HWC) and -3 for torch (NCHW / NTCHW).

    >>> channel_axis(np.zeros((4, 4, 3)), None), channel_axis(torch.zeros(1, 3, 4, 4), None)
    (-1, -3)
    """
    if axis is not None:
        return axis
    return -3 if is_torch(x) else -1


def as_float(x: Array) -> Array:
    """Float view of ``x``: floats keep their dtype, integers and lists become float64 (numpy) or float32 (torch)."""
    if is_torch(x):
        return x if x.is_floating_point() else x.to(torch.get_default_dtype())
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    return x.astype(np.float64)


def matrix_like(m: np.ndarray, ref: Array) -> Array:
    """A constant matrix in ``ref``'s array type, dtype and device."""
    if is_torch(ref):
        # np.array copies: the module-level matrices are read-only, which torch warns about.
        return torch.as_tensor(np.array(m), dtype=ref.dtype, device=ref.device)
    return np.asarray(m, dtype=ref.dtype)


def spow(x: Array, p: float) -> Array:
    """``max(x, 0) ** p`` with a zero (not infinite or NaN) gradient where ``x <= 0``; NaN stays NaN.

    Exponents below one have an infinite derivative at zero; the double ``where`` keeps autograd finite.

    >>> spow(np.array([-1.0, 4.0, np.nan]), 0.5).tolist()
    [0.0, 2.0, nan]
    >>> x = torch.tensor([0.0, 4.0], requires_grad=True)
    >>> spow(x, 0.5).sum().backward(); x.grad.tolist()
    [0.0, 0.25]
    """
    if is_torch(x):
        # NaN is not > 0, but it must come out NaN, as numpy's maximum gives it
        keep = (x > 0) | torch.isnan(x)
        safe = torch.where(keep, x, torch.ones_like(x))
        return torch.where(keep, safe.pow(p), torch.zeros_like(x))
    x = np.maximum(x, 0)
    if p >= 0:
        return np.power(x, p)
    with np.errstate(divide="ignore"):
        y = np.power(x, p)
    # A negative exponent would give inf at zero; zero light stays zero instead.
    return np.where(x > 0, y, 0).astype(y.dtype, copy=False)


def log(x: Array) -> Array:
    """Natural logarithm."""
    return torch.log(x) if is_torch(x) else np.log(x)


def exp(x: Array) -> Array:
    """Exponential."""
    return torch.exp(x) if is_torch(x) else np.exp(x)


def clip(x: Array, lo: float | None = None, hi: float | None = None) -> Array:
    """Clamp to ``[lo, hi]``; either bound may be None."""
    if is_torch(x):
        return torch.clamp(x, min=lo, max=hi)
    if lo is None and hi is None:
        return x
    return np.clip(x, lo, hi)


def where(cond: Array, a: Array, b: Array) -> Array:
    """Elementwise select; scalars are promoted to the array type of the other operands.

    >>> where(torch.tensor([True, False]), torch.tensor([1.0, 2.0]), 0.0).tolist()
    [1.0, 0.0]
    """
    if is_torch(cond):
        ref = a if is_torch(a) else b
        if not is_torch(a):
            a = torch.as_tensor(a, dtype=ref.dtype, device=ref.device)
        if not is_torch(b):
            b = torch.as_tensor(b, dtype=ref.dtype, device=ref.device)
        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def maximum(x: Array, y: Array | float) -> Array:
    """Elementwise maximum with an array or a scalar."""
    if is_torch(x):
        return torch.clamp(x, min=y) if not is_torch(y) else torch.maximum(x, y)
    return np.maximum(x, y)


def channel_max(x: Array, axis: int) -> Array:
    """Maximum over ``axis``, keeping it with size 1."""
    if is_torch(x):
        return x.amax(dim=axis, keepdim=True)
    return x.max(axis=axis, keepdims=True)


def round_(x: Array) -> Array:
    """Round half to even, as both numpy and torch do."""
    return torch.round(x) if is_torch(x) else np.rint(x)


def take(x: Array, i: int, axis: int) -> Array:
    """Channel ``i`` along ``axis``, keeping that axis (size 1) so results broadcast back."""
    if is_torch(x):
        return x.narrow(axis, i, 1)
    index = [slice(None)] * x.ndim
    index[axis] = slice(i, i + 1)
    return x[tuple(index)]


def split3(x: Array, axis: int) -> tuple[Array, Array, Array]:
    """The three channels along ``axis``, each keeping a size-1 axis."""
    return take(x, 0, axis), take(x, 1, axis), take(x, 2, axis)


def concat(parts: Sequence[Array], axis: int) -> Array:
    """Concatenate along an existing axis."""
    if is_torch(parts[0]):
        return torch.cat(list(parts), dim=axis)
    return np.concatenate(parts, axis=axis)


def stack(parts: Sequence[Array], axis: int) -> Array:
    """Stack along a new axis."""
    if is_torch(parts[0]):
        return torch.stack(list(parts), dim=axis)
    return np.stack(parts, axis=axis)


def matmul_channels(m: np.ndarray, x: Array, axis: int | None = None) -> Array:
    """Apply the 3x3 matrix ``m`` to every colour vector of ``x`` along the channel axis.

    ``m`` is cast to ``x``'s dtype (and device) so float32 stays float32.

    >>> matmul_channels(np.eye(3)[::-1], torch.arange(3.0).reshape(1, 3, 1, 1)).flatten().tolist()
    [2.0, 1.0, 0.0]
    """
    x = as_float(x)
    ax = channel_axis(x, axis)
    if x.shape[ax] != 3:
        raise ValueError(f"expected 3 channels on axis {ax}, got shape {tuple(x.shape)}")
    mt = matrix_like(m, x).T
    if is_torch(x):
        moved = torch.movedim(x, ax, -1)
        return torch.movedim(moved @ mt, -1, ax)
    if ax in (-1, x.ndim - 1):
        return x @ mt
    return np.moveaxis(np.moveaxis(x, ax, -1) @ mt, -1, ax)
