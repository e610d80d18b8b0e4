"""`sdr2hdr info`: a readable table of a file's streams, colour tags and HDR10 metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, read_image
from sdr2hdr.io.video import _PRIMARY_NAMES, _TRC_NAMES, _open, read_hdr10_metadata

# H.273 MatrixCoefficients as ffprobe names them
_MATRIX_DISPLAY = {0: "gbr (RGB)", 1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc", 10: "bt2020c"}


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def describe(path: str | Path) -> str:
    """Describe a video or image file for a person."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS:
        return _describe_image(path)
    return _describe_video(path)


def _describe_image(path: Path) -> str:
    img = read_image(path)
    h, w = img.pixels.shape[:2]
    rows = [("file", str(path)), ("size", f"{w}x{h}")]
    if img.cicp is not None:
        c = img.cicp
        rows.append(("cICP", f"{c.describe()} ({c.primaries}/{c.transfer}/{c.matrix}/{c.full_range})"))
    if img.kind == "pq":
        nits = np.asarray(pq_eotf(img.pixels.max(axis=-1)))
        rows += [("signal", f"HDR: {img.bit_depth}-bit PQ R'G'B' (BT.2020)"),
                 ("MaxCLL / MaxFALL", f"{nits.max():.0f} / {nits.mean():.0f} cd/m2 (maxRGB)")]
    elif img.kind == "linear":
        rows += [("signal", "HDR: linear RGB (scene or display referred)"),
                 ("range", f"{img.pixels.min():.4g} .. {img.pixels.max():.4g}")]
    else:
        rows += [("signal", f"SDR: {img.bit_depth}-bit R'G'B'")]
    return "image\n" + _table(rows)


def _describe_video(path: Path) -> str:
    with _open(path) as c:
        out = [f"{path}  ({c.format.long_name}, {float(c.duration or 0) / 1e6:.2f} s, "
               f"{path.stat().st_size / 1e6:.2f} MB)"]
        for s in c.streams:
            cc = s.codec_context
            rows = [("codec", f"{cc.name if cc else '?'}" + (f" ({cc.profile})" if cc and cc.profile else ""))]
            if s.type == "video":
                rows += [("size", f"{cc.width}x{cc.height}"), ("pixel format", cc.format.name if cc.format else "?"),
                         ("frame rate", f"{float(s.average_rate or s.guessed_rate or 0):.3f}"),
                         ("frames", str(s.frames or "not declared")),
                         ("primaries", _PRIMARY_NAMES.get(int(cc.color_primaries or 2), "unspecified")),
                         ("transfer", _TRC_NAMES.get(int(cc.color_trc or 2), "unspecified")),
                         ("matrix", _MATRIX_DISPLAY.get(int(cc.colorspace or 2), "unspecified")),
                         ("range", {1: "limited", 2: "full"}.get(int(cc.color_range or 0), "unspecified"))]
            elif s.type == "audio":
                rows += [("sample rate", f"{cc.sample_rate} Hz"), ("channels", str(cc.channels))]
            if s.language:
                rows.append(("language", s.language))
            out.append(f"stream #{s.index} {s.type}\n" + _table(rows))
    meta = read_hdr10_metadata(path)
    if meta:
        rows = []
        md = meta.get("mastering_display")
        if md:
            rows.append(("mastering display", _fmt_mastering(md)))
        cll = meta.get("content_light_level")
        if cll:
            rows.append(("MaxCLL / MaxFALL", f"{cll.get('max_cll', cll.get('max_content'))} / "
                                             f"{cll.get('max_fall', cll.get('max_average'))} cd/m2"))
        out.append("HDR10 metadata (first frame)\n" + _table(rows))
    else:
        out.append("HDR10 metadata\n  none")
    return "\n".join(out)


def _fmt_mastering(md: dict) -> str:
    parts = []
    for key in ("red", "green", "blue", "white_point"):
        v = md.get(key)
        if v is not None:
            parts.append(f"{key[0].upper()}({float(v[0]):.4f},{float(v[1]):.4f})")
    lo, hi = md.get("min_luminance"), md.get("max_luminance")
    if hi is not None:
        parts.append(f"L {float(lo or 0):g}..{float(hi):g} cd/m2")
    return " ".join(parts) or str(md)
