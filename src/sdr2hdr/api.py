"""The Python API: convert a file, create or list models; the `sdr2hdr` command is a thin layer over it.

Functions
- convert(input, output, **options) -> ConvertReport: what `sdr2hdr convert` does, same options and checks
- check_options(**options): the same refusals as convert, before any file is read
- make_mapper(...) -> the frame mapper the options select (classical, default model tier, --model, informed)
- create_model(name, pretrained=True) -> torch module with its shipped weights loaded
- list_models(pretrained=None) -> registered names, optionally only those with (or without) shipped weights
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sdr2hdr.errors import InputError

if TYPE_CHECKING:  # typing only: `import sdr2hdr` stays free of torch and PyAV
    from torch import nn

    from sdr2hdr.engine.convert import ConvertReport

METHODS = ("bt2408", "bt2446a", "bt2446c")
QUALITY = ("fast", "balanced", "best")
PRECISIONS = ("fp32", "bf16", "fp16")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
EXPOSURE_STOPS = 4.0  # the --exposure trim's range either way: 16x brighter or darker is already a different picture

PathLike = str | os.PathLike


@dataclass
class _Choice:
    """What the options select: the mapper and whether a code table may stand in for it."""

    mapper: object
    lut: bool | None


def _check_options(method, model, source_tmo, quality, weights, precision, tile, peak_nits, crf, qp, preset,
                   max_frames, exposure=0.0) -> None:
    """Refuse option values and combinations the converter cannot honour, as the CLI's parser would."""
    if sum(x is not None for x in (method, model, source_tmo)) > 1:
        raise InputError("method, model and source_tmo are alternatives; give at most one")
    if method is not None and method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if quality not in QUALITY:
        raise InputError(f"unknown quality {quality!r}; choose one of {', '.join(QUALITY)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if preset not in PRESETS:
        raise InputError(f"unknown x265 preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if crf is not None and qp is not None:
        raise InputError("crf and qp are alternatives; give at most one")
    if qp is not None and not 0 <= qp <= 51:
        raise InputError(f"--qp must be in 0..51, got {qp}")
    if crf is not None and not 0 <= crf <= 51:
        raise InputError(f"--crf must be in 0..51, got {crf}")
    if not 100.0 <= peak_nits <= 10000.0:  # NaN fails both comparisons too
        raise InputError(f"--peak-nits must be in 100..10000 cd/m2 (PQ ends at 10000), got {peak_nits}")
    if not -EXPOSURE_STOPS <= exposure <= EXPOSURE_STOPS:  # NaN fails both comparisons too
        raise InputError(f"--exposure must be in -{EXPOSURE_STOPS:g}..{EXPOSURE_STOPS:g} stops, got {exposure}")
    for name, value in (("tile", tile), ("max_frames", max_frames)):
        if value is not None and not value > 0:
            raise InputError(f"{name} must be positive, got {value}")
    if weights is not None and model is None:
        raise InputError("--weights needs --model")
    if quality != "fast" and (model is not None or method is not None or source_tmo is not None):
        raise InputError("--quality picks the tier of the default model; with --model or --method leave it out")


def _default_tier(quality: str, quiet: bool, notify: Callable[[str], None]) -> tuple[str | None, bool | None]:
    """The shipped default model for this quality tier, or None when no model is shipped as the default."""
    from sdr2hdr.models import list_models as registered
    from sdr2hdr.models.weights import default_model, shipped_weights

    model = default_model()
    lut = None
    if model is None:
        return None, lut
    if quality == "best" and f"{model}_local" in registered():  # a default without tiers is its own best
        model = f"{model}_local"
        if shipped_weights(model) is None:
            raise InputError(f"--quality best needs weights for {model}, and none are shipped (its local branch "
                             f"has not yet beaten the global model); train them and pass --model {model} "
                             f"--weights FILE")
    elif quality == "balanced":
        lut = False
    if not quiet:
        notify(f"using the shipped model {model} ({quality}; best on the held-out-curve benchmark); "
               f"--method bt2446c is the classical mapping")
    return model, lut


def make_mapper(method: str | None = None, model: str | None = None, source_tmo: str | None = None,
                quality: str = "fast", weights: PathLike | None = None, device: str = "auto",
                precision: str = "fp32", tile: int = 512, peak_nits: float = 1000.0, exact: bool = False,
                quiet: bool = True, notify: Callable[[str], None] = print, exposure: float = 0.0) -> _Choice:
    """The frame mapper the options select, and whether a code table may stand in for it (None: when it pays)."""
    lut = False if exact else None
    if source_tmo is not None:
        from sdr2hdr.engine.informed import informed_mapper

        # the restoration sees neighbourhoods: no per-code table
        return _Choice(informed_mapper(source_tmo, peak_nits=peak_nits, exposure=exposure), False)
    if model is None and method is None:
        model, tier_lut = _default_tier(quality, quiet, notify)
        lut = False if exact else tier_lut
    if model is not None:
        from sdr2hdr.engine.convert import model_mapper

        return _Choice(model_mapper(model, weights, device=device, precision=precision, tile=tile,
                                    peak_nits=peak_nits, exposure=exposure), lut)
    from sdr2hdr.engine.convert import classical_mapper

    return _Choice(classical_mapper(method or "bt2446c", peak_nits, exposure), lut)


def convert(input: PathLike, output: PathLike, *, method: str | None = None, model: str | None = None,
            source_tmo: str | None = None, quality: str = "fast", weights: PathLike | None = None,
            device: str = "auto", precision: str = "fp32", tile: int = 512, peak_nits: float = 1000.0,
            exposure: float = 0.0,
            crf: float | None = None, qp: int | None = None, preset: str = "fast", exact: bool = False,
            overwrite: bool = False, quiet: bool = False, max_frames: int | None = None,
            resume: bool = False, segment_seconds: float | None = None, ray: str | None = None,
            ray_workers: int | None = None, notify: Callable[[str], None] = print) -> ConvertReport:
    """Convert an SDR video to HDR10 (or an SDR image to a 16-bit PQ PNG / linear EXR); returns the report.

    The options are those of `sdr2hdr convert` (underscores for dashes). Bad input or options raise
    sdr2hdr.InputError with a one-line message; the output appears only when complete. ``quiet`` hides the
    progress bar and notes; ``notify`` receives the notes (default: print). ``resume``, ``segment_seconds``,
    ``ray`` and ``ray_workers`` convert a video in keyframe segments (engine.segments): resumable after any
    interruption, and spread over a Ray cluster with ``ray`` ('local' or an address).
    """
    from sdr2hdr.engine.convert import convert_image, convert_video, is_image_path
    from sdr2hdr.io.hdr10 import MasteringDisplay

    _check_options(method, model, source_tmo, quality, weights, precision, tile, peak_nits, crf, qp, preset,
                   max_frames, exposure)
    segmented = bool(resume or segment_seconds or ray)
    if segmented and (is_image_path(Path(input)) or max_frames):
        raise InputError("--resume, --segment-seconds and --ray are for whole videos; leave them out for an image "
                         "or with --max-frames")
    if ray_workers and ray != "local":
        raise InputError("--ray-workers sets the size of a local cluster; it needs --ray local")
    choice = make_mapper(method, model, source_tmo, quality, weights, device, precision, tile, peak_nits, exact,
                         quiet, notify, exposure)
    mapper = choice.mapper
    if is_image_path(Path(input)):
        report = convert_image(input, output, mapper, overwrite=overwrite)
    elif segmented:
        from sdr2hdr.engine.segments import Settings, convert_segmented

        settings = Settings(crf=crf, qp=qp, preset=preset, lut=choice.lut,
                            mastering=MasteringDisplay(max_nits=peak_nits))
        report = convert_segmented(input, output, mapper, seconds=segment_seconds or 10.0, resume=resume,
                                   overwrite=overwrite, settings=settings, progress=not quiet, ray=ray,
                                   ray_workers=ray_workers, notify=(lambda line: None) if quiet else notify)
    else:
        report = convert_video(input, output, mapper, overwrite=overwrite, crf=crf, qp=qp, preset=preset,
                               mastering=MasteringDisplay(max_nits=peak_nits), progress=not quiet,
                               max_frames=max_frames, lut=choice.lut, notify=notify)
    report.mapping = mapper.description
    return report


def check_options(*, method: str | None = None, model: str | None = None, source_tmo: str | None = None,
                  quality: str = "fast", weights: PathLike | None = None, device: str = "auto",
                  precision: str = "fp32", tile: int = 512, peak_nits: float = 1000.0, crf: float | None = None,
                  qp: int | None = None, preset: str = "fast", exact: bool = False, exposure: float = 0.0,
                  **_ignored: object) -> None:
    """Raise InputError for options convert() would refuse (including an unknown model or missing weights),
    before any file is touched: a folder conversion checks once instead of failing every file."""
    _check_options(method, model, source_tmo, quality, weights, precision, tile, peak_nits, crf, qp, preset, None,
                   exposure)
    make_mapper(method, model, source_tmo, quality, weights, device, precision, tile, peak_nits, exact, True,
                exposure=exposure)


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
