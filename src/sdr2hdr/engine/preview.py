"""`sdr2hdr compare`: a self-contained HTML page with a wipe between an SDR picture and its HDR version.

Functions
- load_frame(path, index) -> Image: a still, or frame `index` of a video (PQ when the stream is tagged PQ)
- sdr_view(pq, tonemap) -> BT.709 R'G'B' [0,1]: the HDR tone-mapped to a 100 cd/m2 SDR screen
- compare_page(sdr, hdr, out, frame=0, tonemap="bt2390") -> Path: the page, every picture embedded as a data URI

The page shows the SDR input and the tone-mapped HDR under a wipe slider (both on any screen), and the HDR picture
itself as a 16-bit PNG tagged with cICP (BT.2020, PQ): a browser that reads cICP shows it as HDR on an HDR display.
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

import numpy as np

from sdr2hdr.color import (
    BT709_TO_BT2020,
    apply_matrix,
    bt1886_inverse_eotf,
    gamut_clip_2020_to_709,
    pq_eotf,
    pq_inverse_eotf,
)
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, Image, read_image, write_png8, write_png16

TONEMAPS = ("bt2390", "bt2446a")


def load_frame(path: str | Path, index: int = 0) -> Image:
    """A still, or frame `index` (from 0, in presentation order) of a video's first video stream."""
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import TRC_PQ, open_container, probe

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS:
        return read_image(path)
    info = probe(path)
    kind = "pq" if info.cicp[1] == TRC_PQ else "sdr"
    count = 0
    with open_container(path) as container:
        for frame in container.decode(container.streams[info.index]):
            if count == index:
                bits = frame.format.components[0].bits
                return Image(frame_to_rgb(frame, info.matrix, info.full_range), kind, bits)
            count += 1
    raise InputError(f"{path} has {count} frames; --frame {index} is past its end")


def as_pq(img: Image, path: Path) -> np.ndarray:
    """An HDR picture as PQ R'G'B' (BT.2020); linear EXR/.hdr light converted, an SDR picture refused."""
    if img.kind == "pq":
        return img.pixels
    if img.kind == "linear":  # linear BT.709 cd/m2 (EXR, .hdr) -> PQ BT.2020
        nits = np.clip(apply_matrix(BT709_TO_BT2020, img.pixels), 0, 10000)
        return np.asarray(pq_inverse_eotf(nits), dtype=np.float32)
    raise InputError(f"the HDR side is SDR: {path} (give a 16-bit PQ PNG, an EXR or an HDR10 video)")


def sdr_view(pq: np.ndarray, tonemap: str = "bt2390", peak: float = 1000.0) -> np.ndarray:
    """PQ R'G'B' (BT.2020) -> BT.709 R'G'B' for a 100 cd/m2 screen: BT.2390 EETF on maxRGB or BT.2446 A forward."""
    from sdr2hdr.tonemap import bt2446a_forward, eetf_to_sdr

    nits = np.asarray(pq_eotf(np.asarray(pq, dtype=np.float64)))
    if tonemap == "bt2446a":
        rel = bt2446a_forward(nits, Lhdr=peak)
    else:
        rel = eetf_to_sdr(nits, src_white=peak, mode="maxrgb")
    return np.asarray(bt1886_inverse_eotf(100.0 * gamut_clip_2020_to_709(rel, upper=1.0)), dtype=np.float32)


def _png_uri(pixels: np.ndarray, bits: int) -> str:
    """A data URI of pixels written as a PNG (16-bit ones carry the cICP chunk of PQ BT.2020)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.png"
        (write_png16 if bits == 16 else write_png8)(path, pixels)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 15px system-ui, sans-serif; margin: 16px; background: #202020; color: #eee; }}
.wipe {{ position: relative; display: inline-block; width: {width}px; max-width: 100%; line-height: 0; }}
.wipe img {{ width: 100%; height: auto; display: block; }}
.wipe .top {{ position: absolute; left: 0; top: 0; clip-path: inset(0 calc(100% - var(--pos)) 0 0); }}
.wipe .bar {{ position: absolute; top: 0; bottom: 0; left: var(--pos); width: 2px; margin-left: -1px;
  background: #ff0; pointer-events: none; }}
.labels {{ display: flex; justify-content: space-between; width: {width}px; max-width: 100%; }}
input[type=range] {{ width: {width}px; max-width: 100%; }}
</style></head><body>
<h1>{title}</h1>
<div class="labels"><span>&larr; SDR input</span><span>HDR, tone-mapped for SDR ({tonemap}) &rarr;</span></div>
<div class="wipe" id="wipe" style="--pos: 50%">
<img class="bottom" alt="HDR tone-mapped to SDR" src="{tonemapped}">
<img class="top" alt="SDR input" src="{sdr}">
<div class="bar"></div>
</div><br>
<input type="range" min="0" max="100" value="50" aria-label="wipe position"
 oninput="document.getElementById('wipe').style.setProperty('--pos', this.value + '%')">
<p>{facts}</p>
<h2>The HDR picture</h2>
<p>A 16-bit PNG tagged with cICP (BT.2020 primaries, PQ transfer, full range): a browser that reads cICP shows it
as HDR on an HDR display; elsewhere it looks flat and dim, because PQ code values are shown as if they were SDR.</p>
<picture><img alt="HDR (PQ, BT.2020)" src="{hdr}" style="width: {width}px; max-width: 100%"></picture>
</body></html>
"""


def compare_page(sdr: str | Path, hdr: str | Path, out: str | Path, frame: int = 0,
                 tonemap: str = "bt2390") -> Path:
    """Write the comparison page for an SDR picture (or video frame) and its HDR version; returns its path."""
    from sdr2hdr.io.atomic import write_atomic

    sdr, hdr, out = Path(sdr), Path(hdr), Path(out)
    if tonemap not in TONEMAPS:
        raise InputError(f"unknown tone map {tonemap!r}; choose one of {', '.join(TONEMAPS)}")
    if not out.parent.is_dir():
        raise InputError(f"output directory does not exist: {out.parent}")
    left = load_frame(sdr, frame)
    if left.kind != "sdr":
        raise InputError(f"the SDR side is HDR: {sdr}")
    pq = as_pq(load_frame(hdr, frame), hdr)
    h, w = pq.shape[:2]
    if abs(left.pixels.shape[1] / left.pixels.shape[0] - w / h) > 0.02 * w / h:  # a x2 model output is fine
        raise InputError(f"the pictures differ in shape: SDR {left.pixels.shape[1]}x{left.pixels.shape[0]}, "
                         f"HDR {w}x{h}")
    nits = np.asarray(pq_eotf(pq.max(axis=-1)))
    facts = (f"SDR {html.escape(sdr.name)} ({left.pixels.shape[1]}x{left.pixels.shape[0]}); HDR "
             f"{html.escape(hdr.name)} ({w}x{h}, brightest pixel {nits.max():.0f} cd/m2, frame average "
             f"{nits.mean():.0f} cd/m2)" + (f"; frame {frame}" if frame else ""))
    page = _PAGE.format(title=html.escape(f"{sdr.name} vs {hdr.name}"), width=min(w, 1280), tonemap=tonemap,
                        tonemapped=_png_uri(sdr_view(pq, tonemap), 8), sdr=_png_uri(left.pixels, 8),
                        hdr=_png_uri(pq, 16), facts=facts)
    return write_atomic(out, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
