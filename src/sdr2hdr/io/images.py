"""Still images in and out: EXR, Radiance .hdr, 16-bit PQ PNG and 8-bit PNG, as float32 HWC arrays.

Functions
- read_exr(path) -> linear RGB (primaries of the file's chromaticities converted to BT.709)
- write_exr(path, rgb_linear)
- read_radiance(path) -> linear BT.709 RGB
- read_png(path) -> (array in [0,1], bit depth)
- write_png16(path, rgb01, cicp=PQ_BT2020), write_png8(path, rgb01)
- png_chunks(data) -> [(type, payload)], read_cicp(path) -> Cicp or None, add_cicp(png_bytes, cicp) -> bytes
- read_image(path) -> Image: what kind of signal the file holds, decided from its format
- write_png_codes(path, codes): 8- or 16-bit RGB codes as a PNG, unscaled (the data sets' frames)
The other writers go through a temporary name and a rename (io.atomic.write_atomic).

Conventions are those of docs/conventions.md: SDR is 8-bit R'G'B' (BT.709, BT.1886), HDR PNGs hold PQ R'G'B'
(BT.2020) as value*65535, EXR holds scene- or display-linear RGB.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.io.extensions import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS  # re-exported: io/__init__, convert, inspect
from sdr2hdr.io.extensions import SDR_IMAGE_EXTENSIONS

# CIE 1931 xy of R, G, B and white: BT.709-6 table 1 (the default for EXR files) and BT.2020-2 table 3.
_BT709_XY = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290))
_BT2020_XY = ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), (0.3127, 0.3290))


@dataclass(frozen=True)
class Cicp:
    """A PNG cICP chunk (PNG 3rd edition; code points of ITU-T H.273): what the samples mean."""

    primaries: int
    transfer: int
    matrix: int = 0  # PNG allows only RGB (0)
    full_range: int = 1

    @property
    def is_pq(self) -> bool:
        return self.transfer == 16  # SMPTE ST 2084

    def describe(self) -> str:
        prim = {1: "BT.709", 9: "BT.2020", 12: "P3-D65"}.get(self.primaries, f"primaries {self.primaries}")
        trc = {1: "BT.709", 13: "sRGB", 16: "PQ", 18: "HLG"}.get(self.transfer, f"transfer {self.transfer}")
        return f"{prim}, {trc}, {'full' if self.full_range else 'narrow'} range"


#: what every 16-bit PQ PNG this project writes is tagged with: BT.2020 primaries, PQ, RGB, full range
PQ_BT2020 = Cicp(primaries=9, transfer=16, matrix=0, full_range=1)
# H.273 transfer characteristics of SDR signals: BT.709, BT.601, BT.2020 10/12-bit, sRGB
_SDR_TRANSFERS = {1, 6, 13, 14, 15}


@dataclass(frozen=True)
class Image:
    """An image as read from disk: pixels plus what they mean."""

    pixels: np.ndarray  # float32 HWC
    kind: str  # "sdr" (R'G'B' BT.709 [0,1]), "pq" (PQ R'G'B' BT.2020 [0,1]), "linear" (linear BT.709 RGB)
    bit_depth: int | None = None
    cicp: Cicp | None = None  # a PNG's cICP chunk, when it has one


def _rgb_to_xyz_matrix(xy: tuple) -> np.ndarray:
    """RGB -> XYZ matrix from primaries and white point (SMPTE RP 177)."""
    (rx, ry), (gx, gy), (bx, by), (wx, wy) = xy
    prim = np.array([[rx / ry, gx / gy, bx / by], [1.0, 1.0, 1.0],
                     [(1 - rx - ry) / ry, (1 - gx - gy) / gy, (1 - bx - by) / by]])
    white = np.array([wx / wy, 1.0, (1 - wx - wy) / wy])
    return prim * np.linalg.solve(prim, white)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (data set manifests, the cards of shipped weights)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_exr(path: str | os.PathLike) -> np.ndarray:
    """Read an EXR as float32 HWC linear RGB with BT.709 primaries (converted when the file declares others)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path)) as f:
            # the header mapping is live and empties once the file closes: copy what is needed first
            chroma = f.header().get("chromaticities")
            chroma = tuple(chroma) if chroma is not None else None
            channels = {k: np.array(v.pixels, copy=True) for k, v in f.channels().items()}
    except Exception as exc:  # noqa: BLE001 - OpenEXR raises bare exceptions with C++ messages
        raise InputError(f"cannot read EXR {path}: {exc}") from None
    rgb = _pick_rgb(channels)
    if rgb is None:
        raise InputError(f"EXR {path} has no RGB or Y channels (has {sorted(channels)})")
    rgb = np.nan_to_num(rgb.astype(np.float32), nan=0.0, posinf=65504.0, neginf=0.0)
    if chroma is not None:
        xy = tuple((float(chroma[i]), float(chroma[i + 1])) for i in range(0, 8, 2))
        if not np.allclose(np.array(xy), np.array(_BT709_XY), atol=1e-4):
            m = np.linalg.inv(_rgb_to_xyz_matrix(_BT709_XY)) @ _rgb_to_xyz_matrix(xy)
            rgb = (rgb @ m.T.astype(np.float32)).astype(np.float32)
    return np.ascontiguousarray(rgb)


def _pick_rgb(channels: dict) -> np.ndarray | None:
    for key in ("RGB", "RGBA"):
        if key in channels:
            return channels[key][..., :3]
    if all(c in channels for c in "RGB"):
        return np.stack([channels[c] for c in "RGB"], axis=-1)
    for key, px in channels.items():  # a multi-layer file: take the first RGB layer
        if key.endswith(".RGB") or key.endswith(".RGBA"):
            return px[..., :3]
    if "Y" in channels:
        return np.repeat(channels["Y"][..., None], 3, axis=-1)
    return None


def write_exr(path: str | os.PathLike, rgb: np.ndarray, half: bool = True, primaries: str = "bt709",
              overwrite: bool = True) -> Path:
    """Write float HWC linear RGB to an EXR (half float by default, ZIP compression), tagging BT.2020 primaries."""
    import OpenEXR

    px = np.ascontiguousarray(rgb[..., :3].astype(np.float16 if half else np.float32))
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if primaries == "bt2020":
        header["chromaticities"] = tuple(float(v) for xy in _BT2020_XY for v in xy)

    def _write(tmp: str) -> None:
        try:
            with OpenEXR.File(header, {"RGB": px}) as f:
                f.write(tmp)
        except RuntimeError as exc:  # OpenEXR reports every I/O failure as a RuntimeError with the C++ message
            raise OSError(errno.EIO, str(exc).split(". ")[-1].rstrip(".") or str(exc)) from None
        _check_written_exr(tmp, px.shape)

    return write_atomic(path, _write, overwrite)


def _check_written_exr(tmp: str, shape: tuple) -> None:
    """Read the file back: a write cut short must never pass for a complete file. OpenEXR does not always report
    a write that the file size limit (or a full disk) cut short, and reading such a file prints its C++ noise and a
    ValueError; the limit is checked first so that it is named as the other writers name it."""
    import resource

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and os.path.getsize(tmp) >= limit:
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    import OpenEXR

    try:
        with OpenEXR.File(tmp) as f:
            whole = f.channels()["RGB"].pixels.shape == shape
    except (RuntimeError, ValueError, KeyError):
        whole = False
    if not whole:
        free = os.statvfs(os.path.dirname(os.path.abspath(tmp))).f_bavail
        code = errno.ENOSPC if free == 0 else errno.EIO
        raise OSError(code, os.strerror(code) if free == 0 else "the written EXR does not read back whole")


def read_radiance(path: str | os.PathLike) -> np.ndarray:
    """Read a Radiance RGBE .hdr file as float32 HWC linear RGB."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if bgr is None or bgr.ndim != 3:
        raise InputError(f"cannot read Radiance HDR {path}")
    return np.ascontiguousarray(bgr[..., ::-1].astype(np.float32))


def read_png(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a PNG as float32 HWC RGB in [0,1] and return its bit depth (8 or 16)."""
    import cv2

    px = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if px is None:
        raise InputError(f"cannot read PNG {path}")
    if px.ndim == 2:
        px = np.repeat(px[..., None], 3, axis=-1)
    px = px[..., :3][..., ::-1]  # OpenCV stores BGR(A)
    if px.dtype == np.uint16:
        return np.ascontiguousarray(px, dtype=np.float32) / 65535.0, 16
    if px.dtype == np.uint8:
        return np.ascontiguousarray(px, dtype=np.float32) / 255.0, 8
    raise InputError(f"unsupported PNG sample type {px.dtype} in {path}")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) chunks of PNG bytes, in order; InputError on a bad signature or CRC."""
    if not data.startswith(_PNG_SIGNATURE):
        raise InputError("not a PNG (bad signature)")
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + payload) != crc:
            raise InputError(f"PNG chunk {kind.decode('latin-1')} has a bad CRC")
        chunks.append((kind, payload))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def add_cicp(data: bytes, cicp: Cicp) -> bytes:
    """PNG bytes with a cICP chunk right after IHDR (the spec wants it before PLTE and IDAT); replaces any other."""
    chunks = [(k, p) for k, p in png_chunks(data) if k != b"cICP"]
    if not chunks or chunks[0][0] != b"IHDR":
        raise InputError("PNG does not start with IHDR")
    payload = bytes([cicp.primaries, cicp.transfer, cicp.matrix, cicp.full_range])
    chunks.insert(1, (b"cICP", payload))
    return _PNG_SIGNATURE + b"".join(_chunk(k, p) for k, p in chunks)


def read_cicp(path: str | os.PathLike) -> Cicp | None:
    """The cICP chunk of a PNG file (read only up to the first IDAT), or None."""
    with open(path, "rb") as f:
        if f.read(8) != _PNG_SIGNATURE:
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind in (b"IDAT", b"IEND"):
                return None  # cICP must come before the image data
            payload = f.read(length)
            f.read(4)
            if kind == b"cICP" and length == 4:
                return Cicp(*payload)


def _write_png(path: str | os.PathLike, rgb01: np.ndarray, bits: int, cicp: Cicp | None = None,
               overwrite: bool = True) -> Path:
    import cv2

    scale = (1 << bits) - 1
    dtype = np.uint16 if bits == 16 else np.uint8
    px = np.clip(np.rint(np.asarray(rgb01, dtype=np.float64)[..., :3] * scale), 0, scale).astype(dtype)
    px = np.ascontiguousarray(px[..., ::-1])

    ok, data = cv2.imencode(".png", px)
    if not ok:
        raise InputError(f"cannot encode PNG {path}")
    payload = add_cicp(data.tobytes(), cicp) if cicp is not None else data.tobytes()

    def _write(tmp: str) -> None:
        # written by Python rather than OpenCV, which does not report a short write (full disk, size limit)
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())

    return write_atomic(path, _write, overwrite)


def write_png16(path: str | os.PathLike, rgb01: np.ndarray, cicp: Cicp | None = PQ_BT2020,
                overwrite: bool = True) -> Path:
    """Write HWC values in [0,1] as a 16-bit RGB PNG (value*65535, rounded), e.g. PQ R'G'B' HDR frames.

    The file carries a cICP chunk (default: BT.2020, PQ, full range) so viewers know the samples are PQ;
    cicp=None writes none (for 16-bit PNGs that hold something else). ``overwrite=False``: an existing file at
    ``path`` (even one that appeared while writing) is an InputError.
    """
    return _write_png(path, rgb01, 16, cicp, overwrite)


def write_png8(path: str | os.PathLike, rgb01: np.ndarray) -> Path:
    """Write HWC values in [0,1] as an 8-bit RGB PNG."""
    return _write_png(path, rgb01, 8)


def write_png_codes(path: str | os.PathLike, codes: np.ndarray) -> Path:
    """Write HWC RGB codes (uint8 or uint16) as a PNG of that depth, as they are: no scaling, no cICP.

    The data sets' frames: PNG is lossless, so reading the file back gives these very codes. The folder is made.
    """
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(codes[..., ::-1])):
        raise OSError(f"cannot write {path}")
    return path


def _png_kind(bits: int, cicp: Cicp | None) -> str:
    """A PNG's signal: its cICP chunk decides when it has one; else 16 bits mean PQ (our convention), 8 SDR."""
    if cicp is not None and cicp.is_pq:
        return "pq"
    if cicp is not None and cicp.transfer in _SDR_TRANSFERS:
        return "sdr"
    return "pq" if bits == 16 else "sdr"


def read_image(path: str | os.PathLike) -> Image:
    """Read any supported still: EXR/.hdr as linear, PNG by its cICP chunk (else 16-bit as PQ, 8-bit as SDR)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.stat().st_size == 0:  # as a 0-byte video is refused (io.media.open_container)
        raise InputError(f"the file is empty: {path}")
    ext = path.suffix.lower()
    if ext == ".exr":
        return Image(read_exr(path), "linear")
    if ext in (".hdr", ".pic"):
        return Image(read_radiance(path), "linear")
    if ext == ".png":
        px, bits = read_png(path)
        cicp = read_cicp(path)
        return Image(px, _png_kind(bits, cicp), bits, cicp)
    if ext in SDR_IMAGE_EXTENSIONS:
        import cv2

        px = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if px is None:
            raise InputError(f"cannot read image {path}")
        return Image(np.ascontiguousarray(px[..., ::-1], dtype=np.float32) / 255.0, "sdr", 8)
    raise InputError(f"not a supported image: {path} (EXR, .hdr, PNG, JPEG, TIFF, BMP, WebP)")
