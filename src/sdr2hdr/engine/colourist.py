"""The colourist's commands: `sdr2hdr calibrate` (fit a pipeline from matched SDR/HDR) and `sdr2hdr lut` (.cube)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdr2hdr.argtypes import in_range, positive
from sdr2hdr.engine.request import CONTRAST_RANGE, EXPOSURE_STOPS, METHODS, SATURATION_RANGE, middle_grey_arg
from sdr2hdr.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `calibrate` and `lut` to the CLI's sub-parsers."""
    p = sub.add_parser("calibrate", help="fit the SDR -> HDR mapping of matched SDR/HDR material (pipeline.json)",
                       description="Fit the default's mapping family (global inverse: gain curves, saturation, "
                                   "gamut matrix) to matched SDR and HDR material: two videos (frames paired by "
                                   "time), two stills, or two folders of stills paired by file name. HDR as 16-bit "
                                   "PQ BT.2020 PNG, EXR or HDR10 video. `convert --calibration FILE` applies it.")
    p.add_argument("sdr", type=Path)
    p.add_argument("hdr", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the pipeline file (.json)")
    p.add_argument("--frames", type=positive(int), default=10, help="paired frames to fit on, at most (default 10)")
    p.add_argument("--steps", type=positive(int), default=300, help="optimiser steps (default 300)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_calibrate)
    _add_lut(sub)


def _check_out(path: Path, overwrite: bool, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        raise InputError(f"the output should end in {suffix}, not {path.suffix or 'no extension'}")
    if not path.parent.is_dir():
        raise InputError(f"output directory does not exist: {path.parent}")
    if path.exists() and not overwrite:
        raise InputError(f"output exists: {path} (use --overwrite to replace it)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sdr2hdr.engine.calibrate import check_fit, fit
    from sdr2hdr.engine.pairs import load_pairs
    from sdr2hdr.io.atomic import write_atomic

    _check_out(args.output, args.overwrite, ".json")
    pairs = load_pairs(args.sdr, args.hdr, frames=args.frames)
    cal = fit(pairs, steps=args.steps)
    check_fit(cal)
    cal.report.update(sdr=args.sdr.name, hdr=args.hdr.name)
    write_atomic(args.output, lambda tmp: Path(tmp).write_text(cal.to_json(), encoding="utf-8"))
    r = cal.report
    print(f"wrote {args.output}: fitted on {r['pairs']} paired frame(s), {r['pixels_fitted']} pixels; on them "
          f"PSNR {r['psnr']:.2f} dB (PQ R'G'B'), Delta E ITP {r['delta_e_itp']:.2f}")
    return 0


def _add_lut(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lut", help="write a per-pixel mapping as a .cube 3D LUT (Resolve, OBS, mpv, ffmpeg lut3d)",
                       description="Write the mapping `convert` would use as a .cube 3D LUT: SDR R'G'B' (BT.709, "
                                   "gamma 2.4, full range) in, PQ R'G'B' (BT.2020, full range) out, as its header "
                                   "says. With --input CLIP, the default model's mapping of each shot of the clip: "
                                   "OUT-NNN.cube per shot and OUT-shots.csv.")
    p.add_argument("output", type=Path, help="the .cube file (with --input: the stem of the per-shot files)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--method", choices=METHODS, default=None, help="a classical inverse mapping")
    how.add_argument("--source-tmo", default=None, metavar="NAME",
                     help="informed mode's exact inverse of this curve (the learned restoration is not per pixel "
                          "and is left out)")
    how.add_argument("--calibration", type=Path, default=None, metavar="FILE", help="a `calibrate` pipeline")
    how.add_argument("--input", type=Path, default=None, metavar="CLIP",
                     help="the default model's mapping of each shot of this SDR clip")
    p.add_argument("--size", type=int, choices=(17, 33, 65), default=33, help="lattice points per axis (default 33)")
    p.add_argument("--peak-nits", type=in_range(100.0, 10000.0, " cd/m2"), default=1000.0)
    p.add_argument("--exposure", type=in_range(-EXPOSURE_STOPS, EXPOSURE_STOPS, " stops"), default=0.0)
    p.add_argument("--middle-grey", type=middle_grey_arg, default=26.0, metavar="NITS",
                   help="with --input: the level convention's grey card, as convert's --middle-grey (0: the level "
                        "the model estimates; default 26)")
    p.add_argument("--saturation", type=in_range(*SATURATION_RANGE), default=1.0)
    p.add_argument("--contrast", type=in_range(*CONTRAST_RANGE), default=1.0)
    p.add_argument("--max-frames", type=positive(int), default=None, help="with --input: read at most N frames")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_lut)


def _options_note(args: argparse.Namespace) -> str:
    return (f"peak {args.peak_nits:g} cd/m2, exposure {args.exposure:+g} stops, saturation {args.saturation:g}, "
            f"contrast {args.contrast:g}, {args.size} points")


def cmd_lut(args: argparse.Namespace) -> int:
    from sdr2hdr.color import pq_code
    from sdr2hdr.engine.cube import shot_cubes, write_cube
    from sdr2hdr.engine.look import Look, peak_limited, with_look
    from sdr2hdr.engine.mappers import classical_mapper

    _check_out(args.output, args.overwrite, ".cube")
    look = Look(args.saturation, args.contrast)
    comments = [f"sdr2hdr lut: {_options_note(args)}"]
    if args.input is not None:
        pq_peak = pq_code(args.peak_nits)

        def post(mapping):
            return with_look(peak_limited(mapping, pq_peak, args.exposure), look, pq_peak)

        shots = shot_cubes(args.input, args.output, args.size, args.peak_nits, post,
                           [*comments, "mapping: the default model's global inverse of one shot"], args.max_frames,
                           middle_grey=args.middle_grey or None)
        print(f"wrote {len(shots)} shot .cube file(s) {args.output.stem}-NNN.cube and "
              f"{args.output.stem}-shots.csv ({args.size} points)")
        return 0
    if args.calibration is not None:
        from sdr2hdr.engine.calibrate import calibration_mapper

        mapper, what = calibration_mapper(args.calibration, args.peak_nits, args.exposure, look), \
            f"calibration {args.calibration.name}"
    elif args.source_tmo is not None:
        from sdr2hdr.engine.stream import ClassicalStream
        from sdr2hdr.tonemap.source_inverse import SOURCE_TMOS, source_inverse

        if args.source_tmo not in SOURCE_TMOS:
            raise InputError(f"unknown --source-tmo {args.source_tmo!r}; choose one of {', '.join(SOURCE_TMOS)}")
        pq_peak = pq_code(args.peak_nits)
        mapper = ClassicalStream(args.source_tmo, with_look(peak_limited(source_inverse(args.source_tmo), pq_peak,
                                                                         args.exposure), look, pq_peak))
        what = f"exact inverse of {args.source_tmo} (informed mode without its restoration)"
    elif args.method is not None:
        mapper, what = classical_mapper(args.method, args.peak_nits, args.exposure, look), f"{args.method} (classical)"
    else:
        raise InputError("say which mapping: --method, --source-tmo, --calibration, or --input CLIP for the default")
    write_cube(args.output, mapper.fn, args.size, [*comments, f"mapping: {what}"])
    print(f"wrote {args.output}: {what}, {args.size}^3 points")
    return 0
