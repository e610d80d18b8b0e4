"""One conversion request: every option of `sdr2hdr convert` and `api.convert`, checked once, then frozen.

The CLI builds it from its parsed arguments, the API from keywords; the engine (engine.convert.run) takes it as
it is. Nothing here imports torch or PyAV, so a bad option is refused before anything heavy loads.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdr2hdr.errors import InputError

if TYPE_CHECKING:
    from sdr2hdr.io.hdr10 import MasteringDisplay

METHODS = ("bt2408", "bt2446a", "bt2446c")
QUALITY = ("fast", "balanced", "best")
PRECISIONS = ("fp32", "bf16", "fp16")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
MIDDLE_GREY_RANGE = (2.0, 400.0)  # where an 18 % grey card may land in cd/m2: 1/13 to 15x BT.2408's 26
EXPOSURE_STOPS = 4.0  # the --exposure trim's range either way: 16x brighter or darker is already a different picture
# the look controls' ranges (engine.look): 0 is grey, 2 twice the colour; contrast 0.5..2 around mid grey
SATURATION_RANGE = (0.0, 2.0)
CONTRAST_RANGE = (0.5, 2.0)
JOURNAL_AFTER = 300.0  # seconds: a plain convert of a longer video keeps a journal (engine.convert)
SEGMENT_OPTIONS = ("resume", "segment_seconds", "ray", "ray_workers")  # convert's, not batch's (it spreads files)


@dataclass(frozen=True)
class Settings:
    """How every frame is encoded (sent to Ray workers as is); the peak is given once, as ``peak_nits``."""

    crf: float | None = None
    qp: int | None = None
    preset: str = "fast"
    peak_nits: float = 1000.0
    lut: bool | None = None
    x265_params: str = ""
    codec: str = "hevc"
    transfer: str = "pq"
    bits: int | None = None
    alt_transfer_sei: bool = False
    hdr10plus: bool = False

    @property
    def mastering(self) -> MasteringDisplay:
        """The HDR10 mastering display written into the stream: P3-D65 with the request's peak."""
        from sdr2hdr.io.hdr10 import MasteringDisplay

        return MasteringDisplay(max_nits=self.peak_nits)


@dataclass(frozen=True)
class ConvertRequest:
    """What to convert and how; the constructor refuses values and combinations the converter cannot honour."""

    input: Path
    output: Path
    method: str | None = None
    model: str | None = None
    source_tmo: str | None = None
    quality: str = "fast"
    weights: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    tile: int = 512
    peak_nits: float = 1000.0
    exposure: float = 0.0
    middle_grey: float = 26.0  # the level convention's grey card, cd/m2 (color.level); 0: the level as estimated
    crf: float | None = None
    qp: int | None = None
    preset: str = "fast"
    exact: bool = False
    overwrite: bool = False
    quiet: bool = False
    max_frames: int | None = None
    resume: bool = False
    segment_seconds: float | None = None
    ray: str | None = None
    ray_workers: int | None = None
    codec: str = "hevc"
    transfer: str = "pq"
    bits: int | None = None
    alt_transfer_sei: bool = False
    hdr10plus: bool = False
    calibration: Path | None = None
    saturation: float = 1.0
    contrast: float = 1.0
    deband: bool = False
    journal_after: float | None = JOURNAL_AFTER

    def __post_init__(self) -> None:
        for name in ("input", "output", "weights", "calibration"):  # str or PathLike in, Path kept
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(os.fspath(value)))
        _check_choices(self)
        _check_numbers(self)
        _check_combinations(self)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ConvertRequest:
        """From `sdr2hdr convert`'s parsed arguments (argparse's dest names are the field names)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    @property
    def pieces_can_carry(self) -> bool:
        """The delivery a segmented run's pieces can carry: HEVC, PQ, 10 bits, no HDR10+ (engine.segments)."""
        return (self.codec, self.transfer) == ("hevc", "pq") and not self.hdr10plus and self.bits != 12

    @property
    def segmented(self) -> bool:
        """Converted in keyframe segments (engine.segments) rather than in one run."""
        return bool(self.resume or self.segment_seconds or self.ray)

    def settings(self, lut: bool | None) -> Settings:
        """The encoding settings, with the code-table choice the mapper selection made."""
        return Settings(crf=self.crf, qp=self.qp, preset=self.preset, peak_nits=self.peak_nits, lut=lut,
                        codec=self.codec, transfer=self.transfer, bits=self.bits,
                        alt_transfer_sei=self.alt_transfer_sei, hdr10plus=self.hdr10plus)


def convert_options(args: argparse.Namespace) -> dict[str, Any]:
    """The conversion options in parsed arguments, paths and segment options left out: what `batch` applies to
    every file (as keywords of api.convert)."""
    skip = {"input", "output", *SEGMENT_OPTIONS}
    return {f.name: getattr(args, f.name) for f in fields(ConvertRequest) if f.name not in skip}


def middle_grey_arg(text: str) -> float:
    """argparse type of --middle-grey (convert, batch, lut): 0 (the level as estimated) or a grey card in range."""
    from sdr2hdr.argtypes import in_range

    return 0.0 if text.strip() in ("0", "0.0") else in_range(*MIDDLE_GREY_RANGE, " cd/m2")(text)


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


def _check_choices(r: ConvertRequest) -> None:
    """Names that must be one of a list."""
    for value, allowed, what in ((r.method, METHODS, "method"), (r.quality, QUALITY, "quality"),
                                 (r.precision, PRECISIONS, "precision"), (r.preset, PRESETS, "x265 preset")):
        if value is not None and value not in allowed:
            raise InputError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")


def _check_numbers(r: ConvertRequest) -> None:
    """Numbers that must lie in a range."""
    for name, value in (("qp", r.qp), ("crf", r.crf)):
        if value is not None and not 0 <= value <= 51:
            raise InputError(f"--{name} must be in 0..51, got {value}")
    if not 100.0 <= r.peak_nits <= 10000.0:  # NaN fails both comparisons too
        raise InputError(f"--peak-nits must be in 100..10000 cd/m2 (PQ ends at 10000), got {r.peak_nits}")
    if not (r.middle_grey == 0 or MIDDLE_GREY_RANGE[0] <= r.middle_grey <= MIDDLE_GREY_RANGE[1]):
        raise InputError(f"--middle-grey must be 0 (the level as estimated) or in {MIDDLE_GREY_RANGE[0]:g}.."
                         f"{MIDDLE_GREY_RANGE[1]:g} cd/m2, got {r.middle_grey}")
    if not -EXPOSURE_STOPS <= r.exposure <= EXPOSURE_STOPS:  # NaN fails both comparisons too
        raise InputError(f"--exposure must be in -{EXPOSURE_STOPS:g}..{EXPOSURE_STOPS:g} stops, got {r.exposure}")
    for name, value, (lo, hi) in (("saturation", r.saturation, SATURATION_RANGE),
                                  ("contrast", r.contrast, CONTRAST_RANGE)):
        if not lo <= value <= hi:  # NaN fails both comparisons too
            raise InputError(f"--{name} must be in {lo:g}..{hi:g}, got {value}")
    if r.journal_after is not None and not r.journal_after >= 0:  # NaN fails too
        raise InputError(f"--journal-after must be 0 or more seconds, got {r.journal_after}")
    for name, value in (("tile", r.tile), ("max_frames", r.max_frames)):
        if value is not None and not value > 0:
            raise InputError(f"{name} must be positive, got {value}")


def _check_combinations(r: ConvertRequest) -> None:
    """Options that exclude or need one another."""
    if sum(x is not None for x in (r.method, r.model, r.source_tmo, r.calibration)) > 1:
        raise InputError("method, model, source_tmo and calibration are alternatives; give at most one")
    if r.crf is not None and r.qp is not None:
        raise InputError("crf and qp are alternatives; give at most one")
    if r.weights is not None and r.model is None:
        raise InputError("--weights needs --model")
    if r.calibration is not None and r.quality == "best":
        raise InputError("--calibration is a per-pixel mapping: --quality fast (code table) or balanced (float)")
    if r.quality != "fast" and (r.model is not None or r.method is not None or r.source_tmo is not None):
        raise InputError("--quality picks the tier of the default model; with --model or --method leave it out")
    model_run = [name for name, value, default in (("--tile", r.tile, 512), ("--precision", r.precision, "fp32"),
                                                   ("--device", r.device, "auto")) if value != default]
    if r.method is not None and model_run:
        raise InputError(f"{', '.join(model_run)} set how a model runs; --method is a classical mapping (no model): "
                         f"leave {'it' if len(model_run) == 1 else 'them'} out")
    if not _DEVICE.fullmatch(r.device):
        raise InputError(f"unknown device {r.device!r}; choose auto, cpu, cuda or cuda:N")
    from sdr2hdr.engine.paths import is_image_path

    if r.segmented and (is_image_path(r.input) or r.max_frames):
        raise InputError("--resume, --segment-seconds and --ray are for whole videos; leave them out for an image "
                         "or with --max-frames")
    if r.ray_workers and r.ray != "local":
        raise InputError("--ray-workers sets the size of a local cluster; it needs --ray local")
    _check_delivery(r, is_image_path(r.output))


def _check_delivery(r: ConvertRequest, image: bool) -> None:
    """Codec, transfer and bit depth: what the output container and the segmented run can hold."""
    from sdr2hdr.io.codecs import check_delivery

    default = (r.codec, r.transfer, r.bits, r.alt_transfer_sei, r.hdr10plus) == ("hevc", "pq", None, False, False)
    if image:
        if not default:
            raise InputError("--codec, --transfer, --bits and --alt-transfer-sei are for videos; an image output "
                             "is PQ PNG or linear EXR")
        return
    check_delivery(r.output.suffix.lower(), r.codec, r.transfer, r.bits, hdr10plus=r.hdr10plus,
                   alt_transfer_sei=r.alt_transfer_sei)
    if r.segmented and not r.pieces_can_carry:
        raise InputError("--resume, --segment-seconds and --ray write HEVC PQ pieces without HDR10+; leave them "
                         "out for --codec, --transfer, --bits or --hdr10plus")
