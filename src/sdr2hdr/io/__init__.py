"""Images and video on disk: EXR, Radiance, PNG, the video probe, the SDR reader and the HDR10 HEVC writer.

Modules: ``images`` (stills), ``media`` (opening and probing any video, SDR or HDR), ``frames`` (decoded frames as
numpy), ``reader`` (VideoReader), ``writer`` (HDR10Writer, stream copy), ``hdr10`` (mastering display, light level,
the MaxCLL SEI patch), ``display_matrix`` (rotation), ``atomic`` (whole-or-nothing writes), ``extensions`` (media
file extensions). The video names load on first use, so that importing the stills does not import PyAV.
"""

from importlib import import_module

from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.io.images import (
    IMAGE_EXTENSIONS,
    SDR_IMAGE_EXTENSIONS,
    Image,
    read_exr,
    read_image,
    read_png,
    read_radiance,
    write_exr,
    write_png8,
    write_png16,
)

_LAZY = {"HDR10Writer": "writer", "MasteringDisplay": "hdr10", "measure_light_level": "hdr10",
         "patch_content_light_level": "hdr10", "VideoInfo": "media", "estimate_frames": "media", "probe": "media",
         "read_hdr10_metadata": "media", "VideoReader": "reader", "frame_to_rgb": "frames"}

__all__ = ["IMAGE_EXTENSIONS", "SDR_IMAGE_EXTENSIONS", "Image", "read_exr", "read_image", "read_png",
           "read_radiance", "write_atomic", "write_exr", "write_png8", "write_png16", *_LAZY]


def __getattr__(name: str) -> object:
    """The video names, imported from their module on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(import_module(f"sdr2hdr.io.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sdr2hdr.io' has no attribute {name!r}")
