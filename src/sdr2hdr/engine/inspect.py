"""`sdr2hdr info`: a readable table of a file's streams, colour tags and HDR10 metadata (from io.media.probe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, read_image
from sdr2hdr.io.media import VideoInfo, probe

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
    info = probe(path)
    out = [f"{path}  ({info.container}, {info.duration_s or 0.0:.2f} s, {info.size_bytes / 1e6:.2f} MB)"]
    for s in info.streams:
        rows = [("codec", s.codec + (f" ({s.profile})" if s.profile else ""))]
        if s.index == info.index:
            rows += _video_rows(info)
        elif s.type == "video":
            rows += [("size", f"{s.width}x{s.height}")]
        elif s.type == "audio":
            rows += [("sample rate", f"{s.sample_rate} Hz"), ("channels", str(s.channels))]
        if s.language:
            rows.append(("language", s.language))
        out.append(f"stream #{s.index} {s.type}\n" + _table(rows))
    meta = info.hdr10
    if meta:
        rows = []
        md = meta.get("mastering_display")
        if md:
            rows.append(("mastering display", _fmt_mastering(md)))
        cll = meta.get("content_light_level")
        if cll:
            rows.append(("MaxCLL / MaxFALL", f"{cll.get('max_cll', cll.get('max_content'))} / "
                                             f"{cll.get('max_fall', cll.get('max_average'))} cd/m2"))
        if meta.get("hdr10plus"):
            rows.append(("HDR10+", "SMPTE ST 2094-40 dynamic metadata (per-frame values: ffprobe -show_frames)"))
        out.append("HDR10 metadata (first frame)\n" + _table(rows))
    else:
        hlg = info.tags["transfer"] == "arib-std-b67"
        out.append("HDR10 metadata\n  none" + (" (HLG carries no static metadata)" if hlg else ""))
    return "\n".join(out)


def _video_rows(info: VideoInfo) -> list[tuple[str, str]]:
    return [("size", f"{info.width}x{info.height}"), ("pixel format", info.pix_fmt),
            ("frame rate", f"{float(info.rate or 0):.3f}"), ("frames", str(info.frames or "not declared")),
            ("primaries", info.tags["primaries"]), ("transfer", info.tags["transfer"]),
            ("matrix", _MATRIX_DISPLAY.get(info.cicp[2], "unspecified")), ("range", info.tags["range"])]


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
