"""The fast path of the converter: a classical mapping baked into a table indexed by 8-bit Y'CbCr code values.

A classical mapping is a function of one pixel, and an 8-bit 4:2:0 source has only 2^24 distinct (Y', Cb, Cr)
codes. Evaluating the mapping once on all of them (about 1 s) turns each frame's YUV -> R'G'B' -> inverse tone
map -> PQ -> Y'CbCr 10-bit chain (about 150 ms of CPU for 1080p) into two table gathers and a chroma filter.

What differs from the per-pixel float path (``convert --exact``): source chroma is taken from the 4:2:0 sample of
its 2x2 block (nearest) instead of being interpolated, so output luma can differ by a few 10-bit codes at sharp
chroma edges; output chroma uses the same type-0 decimation ([1, 2, 1] / 4 across columns, mean of a row pair).

``chroma_step=2`` evaluates the mapping at every luma code but every other chroma code pair (at the pair's
centre, so an input's chroma is off by at most half an 8-bit code): a quarter of the points (4.2M), for mappings
that change per shot (adaptive_itm) and must be rebuilt in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sdr2hdr.color import decode_ycbcr, ycbcr_matrix, ycbcr_to_rgb
from sdr2hdr.color.ycbcr import _code_scales

# Chroma is stored with 3 fractional bits so that the eight-weight 4:2:0 filter sums of two packed 16-bit
# halves of a uint32 cannot overflow: 1023 * 8 * 8 = 65472 < 65536.
_FRAC = 8
_CHUNK_Y = 16  # luma codes per evaluation chunk: 16 x 65536 pixels, about 12 MB of float32 per channel


class CodeLUT:
    """8-bit Y'CbCr (any matrix and range) -> 10-bit BT.2020 NCL limited-range PQ Y'CbCr through ``fn``."""

    tracker = None  # a fixed mapping: no temporal state (engine.adaptive.AdaptiveTable has one)

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], matrix: str = "bt709", full_range: bool = False,
                 keep_rgb: bool = False, chroma_step: int = 1) -> None:
        if chroma_step not in (1, 2):
            raise ValueError(f"chroma_step must be 1 or 2, got {chroma_step}")
        self.matrix, self.full_range = matrix, full_range
        self.cbits = 8 - (chroma_step - 1)  # bits kept of each chroma code
        self.y = np.empty(1 << (8 + 2 * self.cbits), dtype=np.uint16)
        self.c = np.empty(1 << (8 + 2 * self.cbits), dtype=np.uint32)
        # a mapping rebuilt often (adaptive_itm, once per shot) keeps the decoded R'G'B' of every code: 200 MB
        # that save the decode on each rebuild
        self._rgb: list[np.ndarray] | None = [] if keep_rgb else None
        self.rebuild(fn)

    def _decoded(self, y0: int) -> np.ndarray:
        k = y0 // _CHUNK_Y
        if self._rgb is not None and k < len(self._rgb):
            return self._rgb[k]
        b = self.cbits
        cbcr = np.arange(1 << (2 * b), dtype=np.uint32)
        step = 1 << (8 - b)
        offset = (step - 1) / 2.0  # the centre of the codes one entry stands for
        cb = (cbcr >> b).astype(np.float32) * step + offset
        cr = (cbcr & ((1 << b) - 1)).astype(np.float32) * step + offset
        y = np.repeat(np.arange(y0, y0 + _CHUNK_Y, dtype=np.float32), cbcr.size)
        codes = np.stack([y, np.tile(cb, _CHUNK_Y), np.tile(cr, _CHUNK_Y)], axis=-1)
        # the same decode as the float path: code values -> Y'CbCr -> R'G'B' clipped to the cube
        rgb = np.clip(ycbcr_to_rgb(decode_ycbcr(codes, bits=8, full_range=self.full_range, axis=-1),
                                   matrix=self.matrix, axis=-1), 0.0, 1.0).astype(np.float32)
        if self._rgb is not None:
            self._rgb.append(rgb)
        return rgb

    def rebuild(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        """Evaluate ``fn`` (R'G'B' (1, M, 3) -> PQ R'G'B') over every code again."""
        out_m = ycbcr_matrix("bt2020").astype(np.float32)
        ys, yo, cs, co = _code_scales(10, False)
        for y0 in range(0, 256, _CHUNK_Y):
            rgb = self._decoded(y0)
            pq = np.asarray(fn(rgb[None]), dtype=np.float32)[0]
            ycc = pq @ out_m.T
            sl = slice(y0 << (2 * self.cbits), (y0 + _CHUNK_Y) << (2 * self.cbits))
            self.y[sl] = np.clip(np.rint(ys * ycc[:, 0] + yo), 0, 1023).astype(np.uint16)
            cb10 = np.clip(np.rint((cs * ycc[:, 1] + co) * _FRAC), 0, 1023 * _FRAC).astype(np.uint32)
            cr10 = np.clip(np.rint((cs * ycc[:, 2] + co) * _FRAC), 0, 1023 * _FRAC).astype(np.uint32)
            self.c[sl] = (cb10 << 16) | cr10

    def summary(self) -> str | None:
        """Nothing to report: a fixed mapping's table is built once."""
        return None

    def __call__(self, Y: np.ndarray, U: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """8-bit planes (H, W) and (H/2, W/2), H and W even -> 10-bit uint16 planes of the same shapes."""
        H, W = Y.shape
        h, w = H // 2, W // 2
        if H % 2 or W % 2 or U.shape != (h, w) or V.shape != (h, w):
            raise ValueError(f"expected even 4:2:0 planes, got {Y.shape}, {U.shape}, {V.shape}")
        b = self.cbits
        if b == 8:
            cc = (U.astype(np.uint32) << 8) | V
        else:
            cc = ((U.astype(np.uint32) >> (8 - b)) << b) | (V >> (8 - b))
        idx = Y.astype(np.uint32)
        idx <<= 2 * b
        view = idx.reshape(h, 2, w, 2)
        # each chroma sample serves its 2x2 luma block; one broadcast OR in place is 3x faster than filling a
        # strided view first and OR-ing luma after
        np.bitwise_or(view, cc[:, None, :, None], out=view)
        y10 = self.y.take(idx)
        c = self.c.take(idx).reshape(h, 2, W)
        pairs = c[:, 0] + c[:, 1]  # vertical mean (x2) of the row pair, halves stay below 2^15
        even, odd = pairs[:, 0::2], pairs[:, 1::2]
        left = np.empty_like(odd)  # column 2j - 1, replicating column 0 at the edge as the float path does
        left[:, 0] = even[:, 0]
        left[:, 1:] = odd[:, :-1]
        total = (even << 1) + odd + left  # [1, 2, 1] / 4 on the even columns, times the x2 of the pair: x8
        half = (_FRAC * 8) // 2
        u10 = (((total >> 16) + half) // (_FRAC * 8)).astype(np.uint16)
        v10 = (((total & 0xFFFF) + half) // (_FRAC * 8)).astype(np.uint16)
        return y10, u10, v10


def supports(pix_fmt: str) -> bool:
    """True for the sources the table covers: planar 8-bit 4:2:0 (limited or full range)."""
    return pix_fmt in ("yuv420p", "yuvj420p")
