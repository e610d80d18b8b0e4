"""The Python API: convert a file, create or list models; the `sdr2hdr` command is a thin layer over it.

Functions
- convert(input, output, **options) -> ConvertReport: what `sdr2hdr convert` does, same options and checks
- check_options(**options): the same refusals as convert, before any file is read
- make_mapper(**options) -> the frame mapper the options select (classical, default model tier, --model, informed)
- create_model(name, pretrained=True) -> torch module with its shipped weights loaded
- list_models(pretrained=None) -> registered names, optionally only those with (or without) shipped weights

The options are the fields of engine.request.ConvertRequest (those of `sdr2hdr convert`, underscores for dashes);
each call checks them once, in that object, and hands it to the engine as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdr2hdr.engine.request import EXPOSURE_STOPS, METHODS, PRECISIONS, PRESETS, QUALITY, ConvertRequest
from sdr2hdr.errors import InputError

if TYPE_CHECKING:  # typing only: `import sdr2hdr` stays free of torch and PyAV
    from torch import nn

    from sdr2hdr.engine.mappers import Choice
    from sdr2hdr.engine.report import ConvertReport

__all__ = ["EXPOSURE_STOPS", "METHODS", "PRECISIONS", "PRESETS", "QUALITY", "check_options", "convert",
           "create_model", "list_models", "make_mapper"]

PathLike = str | os.PathLike
_NO_PATH = Path("-")  # the paths of a request made only to check options or pick a mapper


def convert(input: PathLike, output: PathLike, *, notify: Callable[[str], None] = print,
            **options: Any) -> ConvertReport:
    """Convert an SDR video to HDR10 (or an SDR image to a 16-bit PQ PNG / linear EXR); returns the report.

    The options are those of `sdr2hdr convert` (underscores for dashes): method, model, source_tmo, quality,
    weights, device, precision, tile, peak_nits, exposure, middle_grey, crf, qp, preset, exact, overwrite, quiet,
    max_frames, resume, segment_seconds, ray, ray_workers, journal_after; the look options calibration (a file
    from `sdr2hdr calibrate`), saturation, contrast, deband (engine.look, engine.deband); the delivery options
    codec ('hevc', 'av1', 'prores', 'prores4444', 'ffv1'), transfer ('pq', 'hlg'), bits (10, 12),
    alt_transfer_sei, hdr10plus (docs/usage.md, Delivery). Bad input or options raise sdr2hdr.InputError with a
    one-line message (an unknown option name a TypeError); the output appears only when complete. ``quiet`` hides
    the progress bar and notes; ``notify`` receives the notes (default: print). ``resume``, ``segment_seconds``,
    ``ray`` and ``ray_workers`` convert a video in keyframe segments (engine.segments): resumable after any
    interruption, and spread over a Ray cluster with ``ray`` ('local' or an address); without them a video longer
    than ``journal_after`` seconds (default 300) is converted the same way, so that the same call continues it.
    """
    from sdr2hdr.engine.convert import run

    return run(ConvertRequest(Path(input), Path(output), **options), notify)


def make_mapper(notify: Callable[[str], None] = print, **options: Any) -> Choice:
    """The frame mapper the options select, and whether a code table may stand in for it (None: when it pays)."""
    from sdr2hdr.engine.mappers import make_mapper as select

    return select(ConvertRequest(_NO_PATH, _NO_PATH, **({"quiet": True} | options)), notify)


def check_options(**options: Any) -> None:
    """Raise InputError for options convert() would refuse (including an unknown model or missing weights),
    before any file is touched: a folder conversion checks once instead of failing every file."""
    make_mapper(**(options | {"quiet": True, "overwrite": False, "max_frames": None}))


def create_model(name: str, pretrained: bool = True) -> nn.Module:
    """A registered model in eval mode; with pretrained=True its shipped weights are loaded (InputError if none)."""
    from sdr2hdr.models.weights import build_model, load_model, shipped_weights

    if not pretrained:
        return build_model(name).eval()
    if shipped_weights(name) is None:
        build_model(name)  # an unknown name is refused as such first
        shipped = ", ".join(list_models(pretrained=True)) or "none"
        raise InputError(f"model {name!r} has no shipped weights (shipped: {shipped}); use pretrained=False "
                         f"and load your own")
    return load_model(name)[0].eval()


def list_models(pretrained: bool | None = None) -> list[str]:
    """Registered model names; pretrained=True: only those with shipped weights, False: only those without."""
    from sdr2hdr.models import list_models as registered
    from sdr2hdr.models.weights import shipped_weights

    names = registered()
    if pretrained is None:
        return names
    return [n for n in names if (shipped_weights(n) is not None) == bool(pretrained)]
