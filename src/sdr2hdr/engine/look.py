"""The controls of the output light: the exposure trim and peak limit of every per-pixel mapping, the look controls
of `convert` (--saturation, --contrast), and the stream wrapper that adds them or --deband.

Both controls act on the HDR output's light, per pixel, after the mapping and its exposure trim and before the peak
limit, so a mapping that is baked into the 8-bit code table (classical, calibrated, the default's per-shot inverse)
carries them in the table at no per-frame cost:

- contrast c: luminance Y -> 26 (Y / 26)^c cd/m2, the pixel's R, G, B scaled with it. 26 cd/m2 is BT.2408's HDR
  level of an 18 % grey card, so mid-tones stay where they are; c > 1 lifts highlights (1.2 takes 203 cd/m2
  diffuse white to 307) and deepens shadows, c < 1 flattens.
- saturation s: linear BT.2020 R, G, B -> Y + s (RGB - Y): 0 is grey, 1 unchanged, 2 twice as far from grey.

Mappers that are not a function of one pixel (models, the informed restoration) get the look on each output frame
through LookStream, which also runs --deband (engine.deband) on each input frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdr2hdr.color import luminance, pq_eotf, pq_inverse_eotf, pq_trim
from sdr2hdr.engine.stream import StreamMapper

MID_GREY = 26.0  # cd/m2: BT.2408's HDR level of an 18 % grey card, the contrast's fixed point


def exposure_note(exposure: float) -> str:
    """How a mapper's description names a brightness trim ('' without one)."""
    return f", exposure {exposure:+g} stops" if exposure else ""


def peak_limited(inverse: Callable[[np.ndarray], np.ndarray], pq_peak: float,
                 exposure: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """A per-pixel SDR -> PQ mapping trimmed by `exposure` stops, then hard-clipped at the peak's PQ code."""

    def run(rgb: np.ndarray) -> np.ndarray:
        pq = np.asarray(inverse(rgb), dtype=np.float32)
        if exposure:
            pq = np.asarray(pq_trim(pq, exposure), dtype=np.float32)
        # PQ is monotonic, so clipping the code at PQ(peak) is the hard clip at the peak luminance.
        return np.clip(pq, 0.0, pq_peak)

    return run


@dataclass(frozen=True)
class Look:
    """Saturation and contrast of the HDR output (1, 1: unchanged)."""

    saturation: float = 1.0
    contrast: float = 1.0

    @property
    def neutral(self) -> bool:
        """True when the look changes nothing."""
        return self.saturation == 1.0 and self.contrast == 1.0

    def note(self) -> str:
        """How a mapper's description names the look ('' when neutral)."""
        parts = [f"saturation {self.saturation:g}"] * (self.saturation != 1.0)
        parts += [f"contrast {self.contrast:g}"] * (self.contrast != 1.0)
        return "".join(f", {p}" for p in parts)

    def __call__(self, pq: np.ndarray) -> np.ndarray:
        """PQ R'G'B' (BT.2020, ..., 3) -> the same with the look applied."""
        if self.neutral:
            return pq
        nits = np.asarray(pq_eotf(np.asarray(pq, dtype=np.float32)), dtype=np.float32)
        y = luminance(nits)[..., 0]
        if self.contrast != 1.0:
            safe = np.maximum(y, 1e-6)
            gain = (safe / MID_GREY) ** (self.contrast - 1.0)  # Y' / Y for Y' = 26 (Y / 26)^c
            nits = nits * gain[..., None]
            y = y * gain
        if self.saturation != 1.0:
            nits = np.maximum(y[..., None] + self.saturation * (nits - y[..., None]), 0.0)
        return np.asarray(pq_inverse_eotf(np.minimum(nits, 10000.0)), dtype=np.float32)


def with_look(fn: Callable[[np.ndarray], np.ndarray], look: Look | None,
              pq_peak: float) -> Callable[[np.ndarray], np.ndarray]:
    """A per-pixel mapping followed by the look and the peak limit (fn itself when the look is neutral)."""
    if look is None or look.neutral:
        return fn

    def run(rgb: np.ndarray) -> np.ndarray:
        return np.minimum(look(fn(rgb)), pq_peak)

    return run


class LookStream(StreamMapper):
    """Any stream mapper with a pre-filter on its SDR frames (deband) and/or the look on its HDR frames."""

    def __init__(self, inner: StreamMapper, pq_peak: float, look: Look | None = None,
                 pre: Callable[[np.ndarray], np.ndarray] | None = None, note: str = "") -> None:
        self.inner, self.pq_peak, self.look, self.pre = inner, pq_peak, look, pre
        self.name, self.frames, self.scale = inner.name, inner.frames, inner.scale
        self.description = inner.description + note

    @property
    def tracker(self) -> Any:
        """The wrapped mapper's temporal state."""
        return self.inner.tracker

    def _out(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        if self.look is None or self.look.neutral:
            return frames
        return [np.minimum(self.look(f), self.pq_peak) for f in frames]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """One still."""
        return self._out([self.inner(self.pre(rgb) if self.pre else rgb)])[0]

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The wrapped mapper's frames, from the pre-filtered input, with the look."""
        return self._out(self.inner.push(self.pre(rgb) if self.pre else rgb))

    def flush(self) -> list[np.ndarray]:
        """The frames the wrapped mapper still owes, with the look."""
        return self._out(self.inner.flush())

    @property
    def light(self) -> bool:
        """As light as the wrapped mapper (the filters cost about as much as a classical mapping)."""
        return self.inner.light

    def code_table(self, pix_fmt: str, matrix: str, full_range: bool, pixels: int | None,
                   lut: bool | None) -> Any:
        """A table only without a pre-filter (a neighbourhood filter is no function of one code)."""
        return None if self.pre is not None else self.inner.code_table(pix_fmt, matrix, full_range, pixels, lut)

    def resume(self, state: dict | None) -> None:
        """Continue the wrapped mapper's temporal state."""
        self.inner.resume(state)

    def observe(self, rgb: np.ndarray) -> None:
        """Advance the wrapped mapper's temporal state."""
        self.inner.observe(self.pre(rgb) if self.pre else rgb)
