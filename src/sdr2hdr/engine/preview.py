"""`sdr2hdr compare`: a self-contained HTML page comparing an SDR picture or video with its HDR version.

Functions
- load_frame(path, index) -> Image: a still, or frame `index` of a video (PQ when the stream is tagged PQ)
- load_frames(path, indices) -> ({index: Image}, count): several frames in one decoding pass
- light_over_time(path) -> (MaxCLL, frame-average light) per frame of an HDR video or still, in cd/m2 (CTA-861.3)
- sdr_view(pq, tonemap) -> BT.709 R'G'B' [0,1]: the HDR tone-mapped to a 100 cd/m2 SDR screen
- false_colour(pq) -> R'G'B' [0,1]: each pixel's luminance as a colour band (cd/m2, LIGHT_BANDS)
- compare_page(sdr, hdr, out, frame=0, tonemap="bt2390", frames=1, width=None) -> Path: the page, every picture
  embedded as a data URI

Per frame shown, the page has the SDR input and the tone-mapped HDR under a wipe slider (both on any screen), the
false-colour map of the HDR output's luminance, and the HDR picture itself as a 16-bit PNG tagged with cICP
(BT.2020, PQ): a browser that reads cICP shows it as HDR on an HDR display. With several frames a frame slider
picks the one shown. Under them, the HDR clip's MaxCLL and frame-average light over time (an SVG plot).
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
    luminance,
    pq_eotf,
    pq_inverse_eotf,
)
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, Image, read_image, write_png8, write_png16

TONEMAPS = ("bt2390", "bt2446a")


def load_frames(path: str | Path, indices: list[int]) -> tuple[dict[int, Image], int]:
    """Frames `indices` (from 0, presentation order) of a video's first video stream, or a still as frame 0, in one
    decoding pass; with the number of frames the file has (decoding stops after the last one wanted)."""
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import TRC_PQ, open_container, probe

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS:
        return ({0: read_image(path)} if 0 in indices else {}), 1
    info = probe(path)
    kind = "pq" if info.cicp[1] == TRC_PQ else "sdr"
    wanted, got, count = set(indices), {}, 0
    with open_container(path) as container:
        for frame in container.decode(container.streams[info.index]):
            if count in wanted:
                bits = frame.format.components[0].bits
                got[count] = Image(frame_to_rgb(frame, info.matrix, info.full_range), kind, bits)
            count += 1
            if len(got) == len(wanted):
                break
    return got, count


def load_frame(path: str | Path, index: int = 0) -> Image:
    """A still, or frame `index` (from 0, in presentation order) of a video's first video stream."""
    got, count = load_frames(path, [index])
    if index not in got:
        raise InputError(f"{path} has {count} frames; --frame {index} is past its end")
    return got[index]


def light_over_time(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of an HDR video (or one still): the brightest pixel's max(R, G, B) and the frame average of it, in
    cd/m2 (CTA-861.3's content light level per frame: their maxima are MaxCLL and MaxFALL)."""
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import open_container, probe

    path = Path(path)
    if path.suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS:
        nits = np.asarray(pq_eotf(as_pq(read_image(path), path).max(axis=-1)))
        return np.array([nits.max()]), np.array([nits.mean()])
    info = probe(path)
    cll, fall = [], []
    with open_container(path) as container:
        for frame in container.decode(container.streams[info.index]):
            nits = np.asarray(pq_eotf(frame_to_rgb(frame, info.matrix, info.full_range).max(axis=-1)))
            cll.append(float(nits.max()))
            fall.append(float(nits.mean()))
    return np.array(cll), np.array(fall)


# luminance bands of the false-colour map: (upper edge in cd/m2, colour, label); BT.2408's 26 cd/m2 grey and
# 203 cd/m2 reference white are edges, so a picture graded to the reference shows its white and greys at once
LIGHT_BANDS = ((1.0, (0.05, 0.05, 0.25), "under 1"), (10.0, (0.10, 0.30, 0.80), "1-10"),
               (26.0, (0.10, 0.65, 0.70), "10-26"), (100.0, (0.20, 0.70, 0.25), "26-100"),
               (203.0, (0.75, 0.85, 0.20), "100-203"), (400.0, (1.00, 0.80, 0.10), "203-400"),
               (1000.0, (1.00, 0.45, 0.05), "400-1000"), (np.inf, (0.90, 0.05, 0.20), "1000 and over"))


def false_colour(pq: np.ndarray) -> np.ndarray:
    """PQ R'G'B' (BT.2020) -> R'G'B' [0, 1]: each pixel coloured by the band its luminance (cd/m2) falls in."""
    y = luminance(np.asarray(pq_eotf(np.asarray(pq, dtype=np.float32)), dtype=np.float32))[..., 0]
    band = np.searchsorted(np.array([b[0] for b in LIGHT_BANDS[:-1]]), y, side="right")
    return np.array([b[1] for b in LIGHT_BANDS], dtype=np.float32)[band]


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
.frame[hidden] {{ display: none; }}
.pic {{ width: {width}px; max-width: 100%; display: block; }}
.legend span {{ display: inline-block; padding: 2px 8px; margin: 2px; color: #000; }}
</style></head><body>
<h1>{title}</h1>
{frame_slider}
<div class="labels"><span>&larr; SDR input</span><span>HDR, tone-mapped for SDR ({tonemap}) &rarr;</span></div>
<input type="range" min="0" max="100" value="50" aria-label="wipe position"
 oninput="for (const w of document.querySelectorAll('.wipe')) w.style.setProperty('--pos', this.value + '%')">
{sections}<h2>Light over time</h2>
<p>Per frame of the HDR clip: the brightest pixel (max of R, G, B) and the frame average, in cd/m2; their largest
values are the clip's MaxCLL and MaxFALL (CTA-861.3).</p>
{plot}
<h2>The HDR picture</h2>
<p>A 16-bit PNG tagged with cICP (BT.2020 primaries, PQ transfer, full range): a browser that reads cICP shows it
as HDR on an HDR display; elsewhere it looks flat and dim, because PQ code values are shown as if they were SDR.</p>
{hdr_pictures}
<script>
function showFrame(k) {{
  document.querySelectorAll('.frame').forEach(function (s) {{ s.hidden = s.dataset.k !== String(k); }});
  var label = document.getElementById('frame-label'); if (label) label.textContent = label.dataset['f' + k];
}}
</script>
</body></html>
"""

_SECTION = """<div class="frame" data-k="{k}"{hidden}>
<div class="wipe" style="--pos: 50%">
<img class="bottom" alt="HDR tone-mapped to SDR" src="{tonemapped}">
<img class="top" alt="SDR input" src="{sdr}">
<div class="bar"></div>
</div>
<p>{facts}</p>
<h3>Where the light is: HDR luminance in cd/m2</h3>
<img class="pic" alt="false-colour map of HDR luminance" src="{false}">
<p class="legend">{legend}</p>
</div>
"""


def _legend() -> str:
    def css(c):
        return "#" + "".join(f"{round(255 * v):02x}" for v in c)

    return "".join(f'<span style="background: {css(c)}">{html.escape(label)}</span>' for _, c, label in LIGHT_BANDS)


def _plot(cll: np.ndarray, fall: np.ndarray, width: int, marks: list[int]) -> str:
    """An inline SVG of MaxCLL (red) and the frame average (blue) per frame, the shown frames marked."""
    w, h, pad = max(width, 560), 200, 44
    top = float(max(cll.max(), 1.0)) * 1.05
    n = len(cll)

    def xy(i, v):
        x = pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return f"{x:.1f},{h - pad - (h - 2 * pad) * v / top:.1f}"

    def line(vals, colour):
        pts = " ".join(xy(i, v) for i, v in enumerate(vals))
        if n == 1:
            x, y = xy(0, vals[0]).split(",")
            return f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}"/>'
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>'

    ticks = "".join(f'<line x1="{xy(k, 0).split(",")[0]}" x2="{xy(k, 0).split(",")[0]}" y1="{pad}" '
                    f'y2="{h - pad}" stroke="#888" stroke-dasharray="3,3"/>' for k in marks)
    text = (f'<text x="{pad}" y="20" fill="#ff4060">MaxCLL {cll.max():.0f} cd/m2 (frame {int(cll.argmax())})</text>'
            f'<text x="{pad}" y="38" fill="#40a0ff">MaxFALL {fall.max():.0f} cd/m2 (frame {int(fall.argmax())})'
            f'</text><text x="{pad}" y="{h - 12}" fill="#ccc">frame 0</text>'
            f'<text x="{w - pad - 60}" y="{h - 12}" fill="#ccc">frame {n - 1}</text>'
            f'<text x="4" y="{pad + 4}" fill="#ccc">{top:.0f}</text><text x="4" y="{h - pad}" fill="#ccc">0</text>')
    return (f'<svg width="{w}" height="{h}" role="img" '
            f'aria-label="MaxCLL and frame-average light per frame"><rect width="{w}" height="{h}" fill="#111"/>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#aaa"/>{ticks}'
            f'{line(cll, "#ff4060")}{line(fall, "#40a0ff")}{text}</svg>')


def _spread(count: int, first: int, frames: int) -> list[int]:
    """The frames shown: `first` alone, or `frames` spread evenly from `first` to the end of the clip."""
    if frames <= 1 or count <= first + 1:
        return [first]
    return sorted({first + round(i * (count - 1 - first) / (frames - 1)) for i in range(frames)})


def _checked_pair(sdr: Path, hdr: Path, left: Image, right: Image) -> np.ndarray:
    if left.kind != "sdr":
        raise InputError(f"the SDR side is HDR: {sdr}")
    pq = as_pq(right, hdr)
    h, w = pq.shape[:2]
    if abs(left.pixels.shape[1] / left.pixels.shape[0] - w / h) > 0.02 * w / h:  # a x2 model output is fine
        raise InputError(f"the pictures differ in shape: SDR {left.pixels.shape[1]}x{left.pixels.shape[0]}, "
                         f"HDR {w}x{h}")
    return pq


def _sections(sdr: Path, hdr: Path, shown: list[int], tonemap: str) -> tuple[list[str], list[str], int]:
    """Each shown frame's section and HDR picture, and the HDR picture width."""
    lefts, _ = load_frames(sdr, shown)
    rights, count = load_frames(hdr, shown)
    missing = [k for k in shown if k not in lefts or k not in rights]
    if missing:
        raise InputError(f"{sdr if missing[0] not in lefts else hdr} has {count} frames; --frame {missing[0]} is "
                         f"past its end")
    sections, pictures, legend = [], [], _legend()
    for n, k in enumerate(shown):
        left = lefts[k]
        pq = _checked_pair(sdr, hdr, left, rights[k])
        h, w = pq.shape[:2]
        nits = np.asarray(pq_eotf(pq.max(axis=-1)))
        facts = (f"SDR {html.escape(sdr.name)} ({left.pixels.shape[1]}x{left.pixels.shape[0]}); HDR "
                 f"{html.escape(hdr.name)} ({w}x{h}, brightest pixel {nits.max():.0f} cd/m2, frame average "
                 f"{nits.mean():.0f} cd/m2)" + (f"; frame {k}" if k or len(shown) > 1 else ""))
        sections.append(_SECTION.format(k=n, hidden=" hidden" if n else "", facts=facts,
                                        tonemapped=_png_uri(sdr_view(pq, tonemap), 8), sdr=_png_uri(left.pixels, 8),
                                        false=_png_uri(false_colour(pq), 8), legend=legend))
        pictures.append(f'<picture class="frame" data-k="{n}"{" hidden" if n else ""}><img class="pic" '
                        f'alt="HDR (PQ, BT.2020)" src="{_png_uri(pq, 16)}"></picture>')
    return sections, pictures, w


def compare_page(sdr: str | Path, hdr: str | Path, out: str | Path, frame: int = 0,
                 tonemap: str = "bt2390", frames: int = 1, width: int | None = None) -> Path:
    """Write the comparison page for an SDR picture or video and its HDR version; returns its path.

    frame: the (first) frame shown; frames: how many, spread from it to the end of the clip (a frame slider picks
    one); width: the pictures' width on the page in CSS pixels (default: the HDR width, at most 1280).
    """
    from sdr2hdr.io.atomic import write_atomic

    sdr, hdr, out = Path(sdr), Path(hdr), Path(out)
    if tonemap not in TONEMAPS:
        raise InputError(f"unknown tone map {tonemap!r}; choose one of {', '.join(TONEMAPS)}")
    if not out.parent.is_dir():
        raise InputError(f"output directory does not exist: {out.parent}")
    cll, fall = light_over_time(hdr) if hdr.is_file() else (None, None)
    if cll is None:
        raise InputError(f"no such file: {hdr}")
    shown = _spread(len(cll), frame, frames)
    sections, pictures, w = _sections(sdr, hdr, shown, tonemap)
    width = width or min(w, 1280)
    slider = ""
    if len(shown) > 1:
        labels = " ".join(f'data-f{n}="frame {k}"' for n, k in enumerate(shown))
        slider = (f'<p><input type="range" id="frame" min="0" max="{len(shown) - 1}" value="0" step="1" '
                  f'aria-label="frame" oninput="showFrame(this.value)"> <span id="frame-label" {labels}>'
                  f'frame {shown[0]}</span></p>')
    page = _PAGE.format(title=html.escape(f"{sdr.name} vs {hdr.name}"), width=width, tonemap=tonemap,
                        frame_slider=slider, sections="".join(sections), plot=_plot(cll, fall, width, shown),
                        hdr_pictures="".join(pictures))
    return write_atomic(out, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
