"""Y'CbCr: the BT.709 / BT.2020 NCL / BT.601 matrices, narrow and full range code values, 4:2:0 chroma resampling.

Functions
---------
rgb_to_ycbcr, ycbcr_to_rgb
    ITU-R BT.709-6 Part 3 items 3.2-3.3; ITU-R BT.2020-2 Table 4 (non-constant luminance); ITU-R BT.601-7
    item 2.5 (SD video and JPEG: what H.273 matrix codes 5 and 6 name).
encode_ycbcr, decode_ycbcr
    Narrow range: BT.709-6 item 3.4 / BT.2020-2 Table 5 (n-bit quantisation, 16..235, 16..240 scaled by 2^(n-8)).
    Full range: ITU-T H.273 (2021) section 8.3, VideoFullRangeFlag = 1.
chroma_420_down, chroma_420_up
    4:2:0 chroma siting of ITU-T H.273 Figure 6 / chroma_sample_loc_type 0 (MPEG-2 siting: co-sited
    horizontally with the even luma columns, midway between luma rows), which x265 and FFmpeg assume when a
    stream does not say otherwise.
even_size
    the picture size 4:2:0 can carry: each side rounded down to even (the last odd row or column is cropped).
rgb_to_yuv420, yuv420_to_rgb
    The video hot path (numpy, float32): R'G'B' frames to planar integer Y'CbCr 4:2:0 and back.

References
----------
- ITU-R BT.709-6 (2015), Parameter values for the HDTV standards.
- ITU-R BT.2020-2 (2015), Parameter values for UHDTV systems.
- ITU-R BT.601-7 (2011), Studio encoding parameters of digital television for standard 4:3 and wide-screen 16:9
  aspect ratios.
- ITU-T H.273 (2021), Coding-independent code points for video signal type identification.
"""

from __future__ import annotations

import numpy as np

from . import _backend as B
from ._backend import Array

__all__ = [
    "KR_KB",
    "ycbcr_matrix",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "encode_ycbcr",
    "decode_ycbcr",
    "chroma_420_down",
    "chroma_420_up",
    "even_size",
    "rgb_to_yuv420",
    "yuv420_to_rgb",
    "limit_luma_420",
]

# Luma weights (Kr, Kb): BT.709-6 item 3.2; BT.2020-2 Table 4.
# BT.601-7 item 2.5.1 (also SMPTE 170M and BT.470 System B/G, which share it): Kr 0.299, Kb 0.114.
KR_KB = {"bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593), "bt601": (0.299, 0.114)}

# Narrow range (8-bit scale, multiplied by 2^(n-8)): BT.709-6 item 3.4, BT.2020-2 Table 5.
NARROW_Y_SCALE, NARROW_Y_OFFSET = 219.0, 16.0
NARROW_C_SCALE, NARROW_C_OFFSET = 224.0, 128.0


def ycbcr_matrix(matrix: str = "bt709") -> np.ndarray:
    """The 3x3 R'G'B' -> Y'CbCr matrix built from (Kr, Kb).

    Args:
        matrix: ``'bt709'``, ``'bt2020'`` (non-constant luminance) or ``'bt601'``.

    Returns:
        float64 3x3; rows give Y', Cb, Cr.

    Raises:
        ValueError: unknown matrix.

    >>> ycbcr_matrix("bt2020")[0].round(4).tolist()
    [0.2627, 0.678, 0.0593]
    """
    kr, kb = _kr_kb(matrix)
    kg = 1 - kr - kb
    return np.array(
        [
            [kr, kg, kb],
            [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
            [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
        ]
    )


def _kr_kb(matrix: str) -> tuple[float, float]:
    try:
        return KR_KB[matrix.lower()]
    except KeyError:
        raise ValueError(f"unknown Y'CbCr matrix {matrix!r}; expected one of {sorted(KR_KB)}") from None


def rgb_to_ycbcr(rgb_prime: Array, matrix: str = "bt709", axis: int | None = None) -> Array:
    """Non-linear R'G'B' to Y'CbCr (analogue values, before quantisation).

    Args:
        rgb_prime: R'G'B' in [0, 1].
        matrix: ``'bt709'`` or ``'bt2020'``.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Y' in [0, 1], Cb and Cr in [-0.5, 0.5], same shape and type.

    Shape:
        3 channels on ``axis``.

    >>> rgb_to_ycbcr(np.array([1.0, 1.0, 1.0])).round(6).tolist()
    [1.0, 0.0, 0.0]
    """
    return B.matmul_channels(ycbcr_matrix(matrix), rgb_prime, axis)


def ycbcr_to_rgb(ycc: Array, matrix: str = "bt709", axis: int | None = None) -> Array:
    """Y'CbCr (analogue values) back to non-linear R'G'B'; no clipping.

    Args:
        ycc: Y' in [0, 1], Cb and Cr in [-0.5, 0.5].
        matrix: ``'bt709'`` or ``'bt2020'``.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        R'G'B', in [0, 1] for colours inside the cube, same shape and type.

    Shape:
        3 channels on ``axis``.

    >>> ycbcr_to_rgb(np.array([0.5, 0.0, 0.0]), "bt2020").round(6).tolist()
    [0.5, 0.5, 0.5]
    """
    return B.matmul_channels(np.linalg.inv(ycbcr_matrix(matrix)), ycc, axis)


def _code_scales(bits: int, full_range: bool) -> tuple[float, float, float, float]:
    """(Y scale, Y offset, C scale, C offset) so that code = scale * E + offset."""
    if not 1 <= bits <= 16:
        raise ValueError(f"bits must be in 1..16, got {bits}")
    if full_range:
        peak = 2.0**bits - 1
        return peak, 0.0, peak, 2.0 ** (bits - 1)
    k = 2.0 ** (bits - 8)
    return NARROW_Y_SCALE * k, NARROW_Y_OFFSET * k, NARROW_C_SCALE * k, NARROW_C_OFFSET * k


def encode_ycbcr(ycc: Array, bits: int = 10, full_range: bool = False, axis: int | None = None) -> Array:
    """Quantise analogue Y'CbCr to integer code values.

    Narrow: ``Y = round((219 E + 16) 2^(n-8))``, ``C = round((224 E + 128) 2^(n-8))``.
    Full (H.273): ``Y = round((2^n - 1) E)``, ``C = round((2^n - 1) E + 2^(n-1))``.

    Args:
        ycc: Y' in [0, 1], Cb and Cr in [-0.5, 0.5].
        bits: code depth, 1 to 16.
        full_range: H.273 full range instead of narrow.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Integers in [0, 2^n - 1]: uint16 for numpy, the input's float dtype for torch.

    Shape:
        3 channels on ``axis``.

    >>> encode_ycbcr(np.array([1.0, 0.0, 0.0]), bits=10).tolist()
    [940, 512, 512]
    >>> encode_ycbcr(np.array([0.0, -0.5, 0.5]), bits=8, full_range=True).tolist()
    [0, 0, 255]
    """
    ycc = B.as_float(ycc)
    ax = B.channel_axis(ycc, axis)
    ys, yo, cs, co = _code_scales(bits, full_range)
    y, cb, cr = B.split3(ycc, ax)
    codes = B.concat([ys * y + yo, cs * cb + co, cs * cr + co], ax)
    codes = B.clip(B.round_(codes), 0.0, 2.0**bits - 1)
    return codes if B.is_torch(codes) else codes.astype(np.uint16)


def decode_ycbcr(codes: Array, bits: int = 10, full_range: bool = False, axis: int | None = None) -> Array:
    """Integer code values back to analogue Y'CbCr (the exact inverse of the quantisation formulas, unclipped).

    Args:
        codes: code values in [0, 2^n - 1], any integer or float dtype.
        bits: code depth, 1 to 16.
        full_range: H.273 full range instead of narrow.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Y' about [0, 1], Cb and Cr about [-0.5, 0.5] (narrow-range foot- and headroom give values slightly
        outside), float.

    Shape:
        3 channels on ``axis``.

    >>> decode_ycbcr(np.array([940, 512, 512]), bits=10).tolist()
    [1.0, 0.0, 0.0]
    """
    codes = B.as_float(codes)
    ax = B.channel_axis(codes, axis)
    ys, yo, cs, co = _code_scales(bits, full_range)
    y, cb, cr = B.split3(codes, ax)
    return B.concat([(y - yo) / ys, (cb - co) / cs, (cr - co) / cs], ax)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The picture size 4:2:0 can carry: each side rounded down to an even number (one chroma sample per 2x2).

    Args:
        width, height: the source picture's size in pixels.

    Returns:
        (width, height), each even: an odd side loses its last column or row.

    >>> even_size(1921, 1080)
    (1920, 1080)
    """
    return width - width % 2, height - height % 2


def _slice(x, axis: int, start=None, stop=None, step=None):
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


def _down2(x, h_axis: int, w_axis: int):
    """Type-0 4:2:0 decimation along two axes (vertical pair mean, horizontal [1, 2, 1] / 4 at even columns)."""
    if x.shape[h_axis] % 2:
        x = B.concat([x, _slice(x, h_axis, -1)], h_axis)
    v = (_slice(x, h_axis, 0, None, 2) + _slice(x, h_axis, 1, None, 2)) * 0.5
    W = v.shape[w_axis]
    # Edge replication gives column -1 = column 0 and column W = column W-1, so odd widths need no special case.
    padded = B.concat([_slice(v, w_axis, 0, 1), v, _slice(v, w_axis, -1)], w_axis)
    left = _slice(padded, w_axis, 0, W, 2)
    centre = _slice(padded, w_axis, 1, W + 1, 2)
    right = _slice(padded, w_axis, 2, W + 2, 2)
    return (left + right + 2 * centre) * 0.25


def _interleave(even, odd, axis: int, size: int):
    """Interleave two equally shaped arrays along ``axis`` and keep the first ``size`` entries."""
    axis = axis % even.ndim
    both = B.stack([even, odd], axis + 1)
    shape = list(even.shape)
    shape[axis] *= 2
    merged = both.reshape(shape)
    return _slice(merged, axis, 0, size)


def _up2(c, H: int, W: int, h_axis: int, w_axis: int):
    """Interpolation matching ``_down2``: chroma sits on even columns and between row pairs."""
    # Horizontal: even columns are the samples themselves, odd columns the mean of their two neighbours.
    nxt = B.concat([_slice(c, w_axis, 1), _slice(c, w_axis, -1)], w_axis)
    c = _interleave(c, (c + nxt) * 0.5, w_axis, W)
    # Vertical: each chroma row sits a quarter of a chroma row below luma row 2i and above row 2i+1.
    prev = B.concat([_slice(c, h_axis, 0, 1), _slice(c, h_axis, 0, -1)], h_axis)
    nxt = B.concat([_slice(c, h_axis, 1), _slice(c, h_axis, -1)], h_axis)
    return _interleave(0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt, h_axis, H)


def chroma_420_down(plane: Array) -> Array:
    """Decimate a full-resolution chroma plane to 4:2:0 (chroma_sample_loc_type 0).

    Horizontal [1, 2, 1] / 4 filter centred on the even columns, vertical mean of each row pair; odd sizes
    replicate the last row / column.

    Args:
        plane: a float chroma plane (numpy or torch).

    Returns:
        The subsampled plane, same value range and type.

    Shape:
        (..., H, W) -> (..., ceil(H/2), ceil(W/2)).

    >>> chroma_420_down(np.ones((4, 6))).shape
    (2, 3)
    """
    return _down2(B.as_float(plane), -2, -1)


def chroma_420_up(plane: Array, H: int, W: int) -> Array:
    """Interpolate a 4:2:0 chroma plane back to ``H x W`` (the siting of ``chroma_420_down``).

    Columns: even = the sample, odd = mean of its neighbours. Rows: 3/4 nearest + 1/4 next chroma row. Edges
    replicate. Constant planes come back exactly.

    Args:
        plane: a subsampled chroma plane.
        H, W: the full-resolution size.

    Returns:
        The plane at full resolution, within the input's value range.

    Shape:
        (..., ceil(H/2), ceil(W/2)) -> (..., H, W).

    >>> chroma_420_up(np.full((2, 3), 0.25), 4, 6).tolist()[0]
    [0.25, 0.25, 0.25, 0.25, 0.25, 0.25]
    """
    plane = B.as_float(plane)
    h, w = plane.shape[-2:]
    if (h, w) != ((H + 1) // 2, (W + 1) // 2):
        raise ValueError(f"chroma plane {h}x{w} does not match a {H}x{W} picture")
    return _up2(plane, H, W, -2, -1)


def rgb_to_yuv420(rgb_prime_hwc: np.ndarray, matrix: str = "bt709", bits: int = 10,
                  full_range: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R'G'B' frame to integer Y'CbCr 4:2:0 planes, the encoder's input.

    Chroma is filtered in the analogue domain before quantisation (one rounding per sample). Computation in
    float32; 15-20 ms for a 1080p frame on one core.

    Args:
        rgb_prime_hwc: R'G'B' in [0, 1], numpy.
        matrix: ``'bt709'`` or ``'bt2020'``.
        bits: code depth.
        full_range: H.273 full range instead of narrow.

    Returns:
        (Y, U, V) uint16 planes, values in [0, 2^bits - 1].

    Shape:
        (H, W, 3) -> (H, W), (ceil(H/2), ceil(W/2)), (ceil(H/2), ceil(W/2)).

    >>> y, u, v = rgb_to_yuv420(np.ones((4, 4, 3), np.float32), "bt2020")
    >>> int(y[0, 0]), int(u[0, 0]), u.shape
    (940, 512, (2, 2))
    """
    rgb = np.asarray(rgb_prime_hwc)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) frame, got {rgb.shape}")
    rgb = rgb.astype(np.float32, copy=False)
    H, W, _ = rgb.shape
    ys, yo, cs, co = _code_scales(bits, full_range)
    # Folding the code scale into the matrix saves a pass; M @ rgb^T gives contiguous Y, Cb, Cr planes, which
    # the chroma filter reads several times faster than the interleaved layout.
    m = (ycbcr_matrix(matrix) * np.array([[ys], [cs], [cs]])).astype(np.float32)
    planes = (m @ rgb.reshape(-1, 3).T).reshape(3, H, W)
    peak = np.float32(2**bits - 1)

    def quantise(a, offset):
        a = a + np.float32(offset)
        np.rint(a, out=a)
        np.clip(a, 0, peak, out=a)
        return a.astype(np.uint16)

    chroma = _down2(planes[1:], 1, 2)
    return quantise(planes[0], yo), quantise(chroma[0], co), quantise(chroma[1], co)


def yuv420_to_rgb(Y: np.ndarray, U: np.ndarray, V: np.ndarray, matrix: str = "bt709", bits: int = 10,
                  full_range: bool = False) -> np.ndarray:
    """Integer Y'CbCr 4:2:0 planes to an R'G'B' frame, the decoder's output.

    Args:
        Y, U, V: planes as ``rgb_to_yuv420`` produces them (any integer or float dtype).
        matrix: ``'bt709'`` or ``'bt2020'``.
        bits: code depth.
        full_range: H.273 full range instead of narrow.

    Returns:
        float32 R'G'B' clipped to [0, 1].

    Shape:
        (H, W), (ceil(H/2), ceil(W/2)) twice -> (H, W, 3).

    >>> frame = yuv420_to_rgb(np.full((2, 2), 940), np.full((1, 1), 512), np.full((1, 1), 512))
    >>> frame.shape, frame[0, 0].round(6).tolist()
    ((2, 2, 3), [1.0, 1.0, 1.0])
    """
    Y = np.asarray(Y)
    H, W = Y.shape
    ys, yo, cs, co = _code_scales(bits, full_range)
    f32 = np.float32
    planes = np.empty((3, H, W), dtype=f32)
    np.multiply(Y, f32(1 / ys), out=planes[0])
    planes[0] -= f32(yo / ys)
    for i, plane in enumerate((U, V), start=1):
        # Decoding at half resolution first halves the work of the affine step.
        c = np.asarray(plane).astype(f32) * f32(1 / cs) - f32(co / cs)
        if c.shape != ((H + 1) // 2, (W + 1) // 2):
            raise ValueError(f"chroma plane {c.shape} does not match a {H}x{W} picture")
        planes[i] = _up2(c, H, W, 0, 1)
    # planes^T @ M^T writes the interleaved (H, W, 3) frame in one BLAS call.
    inv = np.linalg.inv(ycbcr_matrix(matrix)).astype(f32)
    out = (planes.reshape(3, -1).T @ inv.T).reshape(H, W, 3)
    np.clip(out, 0, 1, out=out)
    return out


def limit_luma_420(Y: np.ndarray, U: np.ndarray, V: np.ndarray, pq_peak: float, matrix: str = "bt2020",
                   bits: int = 10, full_range: bool = False) -> np.ndarray:
    """Lower luma where the 4:2:0 picture would decode above ``pq_peak`` in any of R', G', B' (in place on Y).

    Chroma subsampling moves colour between neighbours: a bright pixel next to a saturated one gets some of its
    chroma back after upsampling, and R' = Y' + 1.47 Cr (BT.2020) can then exceed the peak a frame was clipped
    to in R'G'B'. With the chroma the decoder will see (``chroma_420_up``), max(R', G', B') = Y' + max of the
    three colour differences, so luma is limited to ``peak - that maximum``, rounded down to a code.

    Args:
        Y, U, V: integer planes as ``rgb_to_yuv420`` returns them; Y is modified.
        pq_peak: the highest signal any decoded R', G' or B' may reach, in [0, 1].
        matrix, bits, full_range: as for ``rgb_to_yuv420``.

    Returns:
        Y itself, lowered where needed.

    Shape:
        Y (H, W); U and V (ceil(H/2), ceil(W/2)).

    >>> Y = np.full((2, 2), 940, np.uint16); C = np.full((1, 1), 512, np.uint16)
    >>> int(limit_luma_420(Y, C, C, pq_peak=0.5)[0, 0]), int(Y[0, 0])
    (502, 502)
    """
    Y = np.asarray(Y)
    H, W = Y.shape
    ys, yo, cs, co = _code_scales(bits, full_range)
    inv = np.linalg.inv(ycbcr_matrix(matrix))
    f32 = np.float32
    cb = (np.asarray(U).astype(f32) - f32(co)) * f32(1 / cs)
    cr = (np.asarray(V).astype(f32) - f32(co)) * f32(1 / cs)
    diff = f32(inv[0, 2]) * cr
    np.maximum(diff, f32(inv[1, 1]) * cb + f32(inv[1, 2]) * cr, out=diff)
    np.maximum(diff, f32(inv[2, 1]) * cb, out=diff)
    # code = ys * (peak - diff) + yo, floored so that rounding can never land above the peak
    scale, offset = f32(-ys), f32(ys * pq_peak + yo)
    # The interpolated difference is a convex mix of chroma samples, so no pixel's limit is below the one the
    # frame's largest difference gives: only luma above that (less a code, for float rounding) can be lowered.
    # Most frames have few such pixels, and the limit is then computed at those alone.
    floor_all = np.floor(f32(diff.max()) * scale + offset) - 1
    rows, cols = np.nonzero(Y > floor_all)
    if rows.size * 8 > Y.size:
        limit = _up2(diff, H, W, 0, 1)
        np.multiply(limit, scale, out=limit)
        limit += offset
        np.floor(limit, out=limit)
        np.clip(limit, 0, 2**bits - 1, out=limit)
        np.minimum(Y, limit.astype(Y.dtype), out=Y)
        return Y
    limit = _up2_at(diff, rows, cols) * scale + offset
    np.floor(limit, out=limit)
    np.clip(limit, 0, 2**bits - 1, out=limit)
    Y[rows, cols] = np.minimum(Y[rows, cols], limit.astype(Y.dtype))
    return Y


def _up2_at(c, rows, cols):
    """``_up2(c, H, W, 0, 1)[rows, cols]`` of a 2-D float32 plane, computed at those pixels only (same arithmetic)."""
    h, w = c.shape
    j = cols // 2
    right = np.minimum(j + 1, w - 1)
    odd_col = (cols % 2).astype(bool)

    def horizontal(i):
        v = c[i, j]
        return np.where(odd_col, (v + c[i, right]) * 0.5, v)

    i = rows // 2
    other = np.where(rows % 2 == 0, np.maximum(i - 1, 0), np.minimum(i + 1, h - 1))
    return 0.75 * horizontal(i) + 0.25 * horizontal(other)
