"""MATLAB ``imresize`` bicubic downscaling with antialiasing, the degradation the SR-ITM papers trained on.

Functions
- cubic(x): Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)
- resize_weights(in_len, out_len, scale) -> (out_len, in_len) weight matrix, symmetric padding folded in
- imresize(image, scale) -> the resized HWC (or HW) image; uint8 in gives rounded uint8 out, as MATLAB does

Reference: MATLAB ``imresize`` (Image Processing Toolbox), method "bicubic", Antialiasing true (the default when
shrinking): the kernel is stretched by 1/scale, so it is a low-pass filter at the output's Nyquist rate.
R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 29(6), 1981 (a = -0.5).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["cubic", "resize_weights", "imresize"]

KERNEL_WIDTH = 4.0  # support of the cubic kernel in input samples at scale 1


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel, a = -0.5. Domain: any real x. Range: [-0.075, 1], zero for |x| >= 2.

    >>> cubic(np.array([0.0, 0.25, 1.25, 2.0])).tolist()
    [1.0, 0.8671875, -0.0703125, 0.0]
    """
    a = np.abs(np.asarray(x, dtype=np.float64))
    a2, a3 = a * a, a * a * a
    return ((1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1)
            + (-0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0) * ((a > 1) & (a <= 2)))


@lru_cache(maxsize=64)
def resize_weights(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len) float64 matrix W with ``out = W @ in`` along one axis, as MATLAB builds it.

    Output sample i (1-based) sits at input coordinate ``u = i / scale + 0.5 (1 - 1 / scale)``; when shrinking the
    kernel becomes ``scale * cubic(scale * d)`` over ``4 / scale`` taps; taps outside the signal are mirrored
    (``[1..n, n..1]``, MATLAB's symmetric padding); each row sums to 1.

    Domain: in_len, out_len >= 1, scale > 0. Range: rows summing to 1.
    """
    antialias = scale < 1
    width = KERNEL_WIDTH / scale if antialias else KERNEL_WIDTH
    i = np.arange(1, out_len + 1, dtype=np.float64)
    u = i / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(1, taps + 1)[None, :]  # 1-based input indices, possibly outside [1, n]
    d = u[:, None] - idx
    w = scale * cubic(scale * d) if antialias else cubic(d)
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    src = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    W = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(W, (np.repeat(np.arange(out_len), taps), src.ravel()), w.ravel())
    W.setflags(write=False)
    return W


def imresize(image: np.ndarray, scale: float | None = None, out_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Bicubic resize with MATLAB ``imresize`` semantics (antialiased when shrinking).

    Give ``scale`` (output size ``ceil(scale * size)``) or ``out_hw``. Rows are resized before columns (MATLAB's
    order for equal scales) in float64; an integer image comes back rounded and clipped to its dtype, a float
    image comes back float32 and unclipped.

    Domain: HW or HWC array, any numeric dtype. Range: same dtype for integer input, float32 otherwise.
    """
    img = np.asarray(image)
    H, W = img.shape[:2]
    if out_hw is None:
        if scale is None:
            raise ValueError("give scale or out_hw")
        out_hw = (int(math.ceil(H * scale)), int(math.ceil(W * scale)))
    h, w = out_hw
    sh = scale if scale is not None else h / H
    sw = scale if scale is not None else w / W
    rest = img.shape[2:]
    x = img.astype(np.float64).reshape(H, -1)
    # two plain matrix products on 2-D views: rows, then columns (with the columns brought to the front)
    x = (resize_weights(H, h, float(sh)) @ x).reshape(h, W, -1)
    x = resize_weights(W, w, float(sw)) @ x.transpose(1, 0, 2).reshape(W, -1)
    x = x.reshape(w, h, -1).transpose(1, 0, 2).reshape((h, w) + rest)
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        return np.clip(np.rint(x), info.min, info.max).astype(img.dtype)
    return x.astype(np.float32)
