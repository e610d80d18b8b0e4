"""The streaming mapper interface the pipeline uses, and the per-pixel classical stream (numpy only, no torch).

A StreamMapper takes float32 HWC SDR R'G'B' (BT.709, BT.1886) frames in order and gives back float32 HWC PQ R'G'B'
(BT.2020) frames in the same order, later for multi-frame models. The pipeline asks the mapper, not its type, what
it needs: whether its work is light beside x265 (``light``), a code table that may stand in for it
(``code_table``), and the temporal state a segment starts from (``tracker``, ``resume``, ``observe``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import numpy as np

#: a code table costs about as much to build as mapping 16M pixels per pixel: worth it from a few seconds of HD on
LUT_BREAK_EVEN_PIXELS = 2 * (1 << 24)


class StreamMapper(abc.ABC):
    """Streaming frame mapper: push SDR frames in order, receive HDR frames in the same order."""

    name: str = ""
    description: str = ""
    frames: int = 1
    scale: int = 1
    tracker: Any = None  # the temporal state carried from frame to frame (None: stateless)

    @abc.abstractmethod
    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Take the next SDR frame; return the HDR frames now ready (none yet while a window fills)."""

    def flush(self) -> list[np.ndarray]:
        """The frames still owed at the end of the clip (a multi-frame model's last window)."""
        return []

    @property
    def light(self) -> bool:
        """True when mapping a frame is light work beside x265, so the conversion keeps to one thread."""
        return False

    def code_table(self, pix_fmt: str, matrix: str, full_range: bool, pixels: int | None,
                   lut: bool | None) -> Any:
        """A table over 8-bit Y'CbCr codes that maps as this mapper does, or None (engine.lut, engine.adaptive).

        ``pixels``: the clip's pixel count (None: unknown); ``lut``: True forces a table, False refuses one.
        """
        return None

    def resume(self, state: dict | None) -> None:
        """Continue from a temporal state (None: start afresh); stateless mappers have nothing to do."""
        return None

    def observe(self, rgb: np.ndarray) -> None:
        """Advance the temporal state over one frame without mapping it; stateless mappers have nothing to do."""
        return None


class ClassicalStream(StreamMapper):
    """A per-pixel mapping (numpy HWC in, numpy HWC out): no delay."""

    def __init__(self, name: str, fn: Callable[[np.ndarray], np.ndarray], description: str = "") -> None:
        self.name, self.fn, self.description = name, fn, description

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.fn(rgb)

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The frame mapped at once."""
        return [self.fn(rgb)]

    @property
    def light(self) -> bool:
        """A classical mapping is always light beside x265."""
        return True

    def code_table(self, pix_fmt: str, matrix: str, full_range: bool, pixels: int | None,
                   lut: bool | None) -> Any:
        """The mapping baked into a CodeLUT when the source is 8-bit 4:2:0 and the clip repays the build."""
        from sdr2hdr.engine.lut import CodeLUT, supports

        if lut is False or not supports(pix_fmt):
            return None
        if lut or pixels is None or pixels >= LUT_BREAK_EVEN_PIXELS:
            return CodeLUT(self.fn, matrix=matrix, full_range=full_range)
        return None
