"""Delivery formats: which codec, transfer and bit depth an output may have, the encoder options for each, each
container's muxer and options, and the one-line refusal of a combination a container or codec cannot hold (no PyAV
here: requests check it cheaply)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdr2hdr.errors import InputError
from sdr2hdr.io.extensions import VIDEO_OUT_EXTENSIONS

if TYPE_CHECKING:
    from sdr2hdr.io.hdr10 import MasteringDisplay

TRANSFERS = ("pq", "hlg")
#: H.273 transfer code points: PQ (SMPTE ST 2084), HLG (ARIB STD-B67), and BT.2020 10-bit (the SDR-compatible
#: transfer an HLG stream declares when its preferred one travels in the alternative-transfer SEI)
TRC_CODE = {"pq": 16, "hlg": 18, "bt2020-10": 14}


@dataclass(frozen=True)
class Codec:
    """One output codec: its FFmpeg encoder and decoder, pixel formats by bit depth, and where it may go."""

    name: str
    encoder: str
    decoder: str
    pix_fmts: dict  # bits -> pixel format
    containers: frozenset  # output extensions that hold it
    label: str
    static_in_stream: bool  # HDR10 static metadata inside the coded stream (SEI / metadata OBU)


CODECS = {
    "hevc": Codec("hevc", "libx265", "hevc", {10: "yuv420p10le"},
                  frozenset({".mkv", ".mp4", ".mov", ".m4v", ".ts", ".hevc", ".h265"}), "HEVC Main10", True),
    "av1": Codec("av1", "libsvtav1", "libdav1d", {10: "yuv420p10le"}, frozenset({".mkv", ".mp4"}),
                 "AV1 Main 10-bit", True),
    # ProRes 422 HQ is 10-bit 4:2:2; 4444 takes 4:4:4 (FFmpeg's prores_ks reads 10-bit samples for both)
    "prores": Codec("prores", "prores_ks", "prores", {10: "yuv422p10le"}, frozenset({".mov", ".mkv"}),
                    "ProRes 422 HQ", False),
    "prores4444": Codec("prores4444", "prores_ks", "prores", {10: "yuv444p10le"}, frozenset({".mov", ".mkv"}),
                        "ProRes 4444", False),
    "ffv1": Codec("ffv1", "ffv1", "ffv1", {10: "yuv420p10le", 12: "yuv420p12le"}, frozenset({".mkv"}),
                  "FFV1 (lossless)", False),
}


def check_delivery(ext: str, codec: str, transfer: str, bits: int | None, hdr10plus: bool = False,
                   alt_transfer_sei: bool = False) -> None:
    """Refuse, on one line (InputError), a codec / transfer / bit depth / HDR10+ choice the output cannot hold."""
    if codec not in CODECS:
        raise InputError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if transfer not in TRANSFERS:
        raise InputError(f"unknown transfer {transfer!r}; choose one of {', '.join(TRANSFERS)}")
    c = CODECS[codec]
    # an extension no video is written as is refused by the path checks, with the list of those that are
    if ext in VIDEO_OUT_EXTENSIONS and ext not in c.containers:
        raise InputError(f"a {ext} file cannot hold {c.label}; write "
                         f"{' or '.join(sorted(c.containers))} for --codec {codec}")
    if bits is not None and bits not in c.pix_fmts:
        depths = " or ".join(str(b) for b in c.pix_fmts)
        hint = "; --codec ffv1 keeps 12 bits" if bits == 12 else ""
        raise InputError(f"--bits {bits} is not available with --codec {codec} ({c.label} is written at "
                         f"{depths} bits here){hint}")
    if hdr10plus and (codec not in ("hevc", "av1") or transfer != "pq"):
        raise InputError("--hdr10plus writes SMPTE ST 2094-40 metadata into HEVC or AV1 with PQ; use --codec hevc "
                         "or av1 with --transfer pq")
    if hdr10plus and ext in (".hevc", ".h265"):
        raise InputError("--hdr10plus needs frame times to place each scene's SEI, which a raw HEVC stream has not; "
                         "write .mkv, .mp4 or .ts")
    if alt_transfer_sei and (codec != "hevc" or transfer != "hlg"):
        raise InputError("--alt-transfer-sei is the HEVC SEI of an HLG output; use it with --transfer hlg "
                         "(and --codec hevc)")


def delivery_label(codec: str, transfer: str) -> str:
    """How the report names an output: "HEVC Main10 HDR10", "AV1 Main 10-bit HLG", ..."""
    return f"{CODECS[codec].label} {'HDR10' if transfer == 'pq' else 'HLG'}"


def pix_fmt(codec: str, bits: int | None) -> str:
    """The pixel format a codec is fed at a bit depth (None: its lowest)."""
    table = CODECS[codec].pix_fmts
    return table[bits if bits is not None else min(table)]


def svt_mastering(mastering: MasteringDisplay) -> str:
    """SVT-AV1's mastering-display string (chromaticities and cd/m2 as decimals, G B R white order)."""
    c = lambda xy: f"({xy[0]:.4f},{xy[1]:.4f})"  # noqa: E731
    return (f"G{c(mastering.green)}B{c(mastering.blue)}R{c(mastering.red)}WP{c(mastering.white)}"
            f"L({mastering.max_nits:.4f},{mastering.min_nits:.4f})")


def container_format(ext: str) -> str | None:
    """The FFmpeg muxer for an output extension (".mkv" -> "matroska"); None lets FFmpeg guess from the name."""
    return {".mkv": "matroska", ".mka": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov",
            ".ts": "mpegts", ".hevc": "hevc", ".h265": "hevc"}.get(ext)


def muxer_options(ext: str) -> dict[str, str]:
    """Muxer options for an HDR10 output: no Matroska CRCs (the MaxCLL patch changes bytes after the muxer wrote
    them) and the MP4 colr box (players read the colour tags there)."""
    options = {"write_crc32": "0"} if ext in (".mkv", ".mka", ".webm") else {}
    if ext in (".mp4", ".mov", ".m4v"):
        options["movflags"] = "+write_colr"
    return options
