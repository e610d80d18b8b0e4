"""Decoded PyAV frames as numpy: planes without line padding, and R'G'B' through the stream's own Y'CbCr matrix
and range (untagged = BT.709 limited, docs/conventions.md), never a library default: PyAV's reformat would silently
use BT.601."""

from __future__ import annotations

import av
import numpy as np

from sdr2hdr.color import (
    bt1886_eotf,
    bt1886_inverse_eotf,
    decode_ycbcr,
    gamut_clip_2020_to_709,
    ycbcr_to_rgb,
    yuv420_to_rgb,
)

PLANAR_YUV = {f"yuv{c}p{d}" for c in ("420", "444") for d in ("", "10le", "12le", "16le")} | {"yuvj420p", "yuvj444p"}


def frame_to_rgb(frame: av.VideoFrame, matrix: str, full_range: bool) -> np.ndarray:
    """Decoded frame -> float32 HWC R'G'B' in [0,1], using the given matrix and range, never a library default."""
    fmt = frame.format
    name = fmt.name
    if fmt.has_palette or fmt.is_bit_stream or fmt.is_bayer or name.startswith("ya"):
        # palette, 1-bit and Bayer pictures hold R'G'B' (or grey) samples, not Y'CbCr: no matrix is involved
        return frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
    if name.startswith(("rgb", "bgr", "gbr", "argb", "abgr")):
        deep = max(c.bits for c in fmt.components) > 8
        arr = frame.to_ndarray(format="rgb48le" if deep else "rgb24")
        return arr.astype(np.float32) / (65535.0 if deep else 255.0)
    bits = fmt.components[0].bits
    if name.startswith("gray"):
        y = frame_plane(frame, 0, bits)
        mid = float(1 << (bits - 1))
        return yuv420_to_rgb(y, np.full(((y.shape[0] + 1) // 2, (y.shape[1] + 1) // 2), mid, np.uint16),
                             np.full(((y.shape[0] + 1) // 2, (y.shape[1] + 1) // 2), mid, np.uint16),
                             matrix=matrix, bits=bits, full_range=full_range)
    is_420 = name in ("nv12", "nv21", "p010le", "p016le") or fmt.components[1].height != frame.height
    if name not in PLANAR_YUV:
        # Planar re-layout only (same matrix and range): swscale changes no colour between YUV formats.
        bits = min((b for b in (8, 10, 12, 16) if b >= bits), default=16)
        suffix = "" if bits == 8 else f"{bits}le"
        # A yuvj (full-range) source goes to a yuvj layout: to a yuv one swscale would squeeze it to limited
        # range, and it would then be read as full range (converted twice).
        family = "yuvj" if name.startswith("yuvj") else "yuv"
        frame = frame.reformat(format=family + ("420p" if is_420 else "444p") + suffix)
    y, u, v = (frame_plane(frame, i, bits) for i in range(3))
    return _yuv_to_rgb(y, u, v, frame, matrix, bits, full_range)


def _yuv_to_rgb(y, u, v, frame, matrix, bits, full_range) -> np.ndarray:
    if u.shape == y.shape:
        ycc = decode_ycbcr(np.stack([y, u, v], axis=-1), bits=bits, full_range=full_range)
        return np.clip(ycbcr_to_rgb(ycc, matrix=matrix), 0.0, 1.0).astype(np.float32)
    return yuv420_to_rgb(y, u, v, matrix=matrix, bits=bits, full_range=full_range)


def frame_plane(frame: av.VideoFrame, index: int, bits: int) -> np.ndarray:
    """One plane as a 2-D uint16/uint8 array without the line padding."""
    plane = frame.planes[index]
    dtype = np.dtype(np.uint8) if bits <= 8 else np.dtype("<u2")
    per_line = plane.line_size // dtype.itemsize
    arr = np.frombuffer(memoryview(plane), dtype=dtype).reshape(-1, per_line)
    return arr[: plane.height, : plane.width]


def bt2020_to_bt709_sdr(rgb: np.ndarray) -> np.ndarray:
    """SDR R'G'B' with BT.2020 primaries -> BT.709 R'G'B': BT.1886 display light, the BT.2407 matrix and clip
    (colours outside BT.709 are clipped to it), and back through the inverse of the same EOTF."""
    light = gamut_clip_2020_to_709(bt1886_eotf(rgb, Lw=1.0), upper=1.0)
    return np.asarray(bt1886_inverse_eotf(light, Lw=1.0), dtype=np.float32)


