"""The cheap checks of a conversion's paths, made before any model loads or any file opens (no torch, no PyAV)."""

from __future__ import annotations

import os
from pathlib import Path

from sdr2hdr.errors import InputError
from sdr2hdr.io.extensions import IMAGE_EXTENSIONS, IMAGE_OUT_EXTENSIONS, SDR_IMAGE_EXTENSIONS, VIDEO_OUT_EXTENSIONS


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the name says a still image (converted by engine.image, not as a video)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS


def check_paths(src: str | os.PathLike, dst: str | os.PathLike, overwrite: bool) -> tuple[Path, Path]:
    """Refuse, before any work, outputs that would fail or destroy something."""
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"no such file: {src}")
    if not src.is_file():
        raise InputError(f"not a file: {src}")
    if not dst.parent.exists() or not dst.parent.is_dir():
        raise InputError(f"output directory does not exist: {dst.parent}")
    if dst.exists():
        if src.resolve() == dst.resolve():
            raise InputError("output and input are the same file; the input is never modified")
        if not overwrite:
            raise InputError(f"output exists: {dst} (use --overwrite to replace it)")
        if dst.is_dir():
            raise InputError(f"output is a directory: {dst}")
    return src, dst


def check_output_type(dst: Path, image: bool) -> None:
    """Refuse an output whose extension does not suit the job: a picture to .png/.exr, a video to a container."""
    ext = dst.suffix.lower()
    if image:
        if ext not in IMAGE_OUT_EXTENSIONS:
            raise InputError(f"an image converts to .png (16-bit PQ) or .exr (linear), "
                             f"not {dst.suffix or 'no extension'}")
    elif ext not in VIDEO_OUT_EXTENSIONS:
        raise InputError(f"a video converts to one of {', '.join(sorted(VIDEO_OUT_EXTENSIONS))}, "
                         f"not {dst.suffix or 'no extension'}")


def check_convert_paths(src: str | os.PathLike, dst: str | os.PathLike, overwrite: bool,
                        image: bool | None = None) -> tuple[Path, Path]:
    """check_paths, then the output's type (``image``: the job's kind; None: as the input's name says)."""
    src, dst = check_paths(src, dst, overwrite)
    check_output_type(dst, is_image_path(src) if image is None else image)
    return src, dst


def joined_record(dst: str | os.PathLike) -> bool:
    """Whether a segmented run left the record of a join beside ``dst`` (killed after its output was in place but
    before its work folder went; engine.segments checks the output against it and finishes the removal)."""
    dst = Path(dst)
    return (dst.parent / f".{dst.name}.parts" / "joined.json").is_file()
