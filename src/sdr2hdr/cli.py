"""The `sdr2hdr` command line: each sub-command is a thin shell over the library."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from sdr2hdr.argtypes import in_range, positive
from sdr2hdr.errors import InputError

METHODS = ("bt2408", "bt2446a", "bt2446c")
QUALITY = ("fast", "balanced", "best")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2, like every other input error."""

    def error(self, message: str) -> None:  # noqa: D102
        # main() prefixes "sdr2hdr: error:"; name the subcommand only ("data build: ...")
        command = self.prog.removeprefix("sdr2hdr").strip()
        raise InputError(f"{command}: {message}" if command else message)


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="SDR video or image -> HDR10 video (HEVC Main10) or HDR image",
                       description="Convert an SDR video to an HDR10 file (BT.2020, PQ, 10-bit HEVC, mastering "
                                   "display and measured MaxCLL/MaxFALL, audio and subtitles kept), or an SDR image "
                                   "to a 16-bit PQ PNG or a linear EXR.")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--method", choices=METHODS, default=None,
                     help="classical inverse mapping (the default when no shipped model beats them)")
    how.add_argument("--model", default=None, help="a registered model (see `sdr2hdr models`)")
    how.add_argument("--source-tmo", default=None, metavar="NAME",
                     help="informed mode, for SDR known to be made from an HDR master by this curve (bt2446a, "
                          "bt2446c, bt2390, hable, reinhard, camera): its exact inverse plus learned restoration")
    p.add_argument("--quality", choices=QUALITY, default="fast",
                   help="cost tier of the default model: fast (the per-shot inverse baked into the code table, "
                        "real time on a CPU), balanced (the same inverse per pixel in float, interpolated chroma), "
                        "best (plus the local branch for coding artifacts; slow on a CPU)")
    p.add_argument("--weights", type=Path, default=None, help="weights for --model (default: the shipped ones)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="model arithmetic (bf16 is about 3x faster on recent CPUs)")
    p.add_argument("--tile", type=positive(int), default=512,
                   help="run the model on overlapping tiles of this size (default 512)")
    # 10000 cd/m2 is the top of PQ; below 100 the HDR master would be dimmer than SDR reference white
    p.add_argument("--peak-nits", type=in_range(100.0, 10000.0, " cd/m2"), default=1000.0,
                   help="mastering display peak in cd/m2, 100..10000; output is limited to it (default 1000)")
    rc = p.add_mutually_exclusive_group()
    rc.add_argument("--crf", type=float, default=None, help="x265 constant rate factor (default 18)")
    rc.add_argument("--qp", type=int, default=None, help="x265 constant QP instead of CRF")
    p.add_argument("--preset", choices=PRESETS, default="fast", help="x265 preset (default fast)")
    p.add_argument("--exact", action="store_true",
                   help="classical methods: map every pixel in float with interpolated chroma instead of the "
                        "8-bit code table (several times slower, differs by a 10-bit code or two at colour edges)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-frames", type=positive(int), default=None, help="stop after N frames")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args) -> int:
    from sdr2hdr.engine.convert import classical_mapper, convert_image, convert_video, is_image_path
    from sdr2hdr.io.video import MasteringDisplay

    if args.qp is not None and not 0 <= args.qp <= 51:
        raise InputError(f"--qp must be in 0..51, got {args.qp}")
    if args.crf is not None and not 0 <= args.crf <= 51:
        raise InputError(f"--crf must be in 0..51, got {args.crf}")
    if args.weights is not None and args.model is None:
        raise InputError("--weights needs --model")
    lut = False if args.exact else None
    if args.source_tmo is not None:
        from sdr2hdr.engine.informed import informed_mapper

        mapper = informed_mapper(args.source_tmo, peak_nits=args.peak_nits)
        lut = False  # the restoration sees neighbourhoods: no per-code table
    elif args.model is None and args.method is None:
        from sdr2hdr.models.weights import default_model

        args.model = default_model()
        if args.model is not None:
            if args.quality == "best":
                from sdr2hdr.models import list_models

                if f"{args.model}_local" in list_models():  # a default without tiers is its own best
                    from sdr2hdr.models.weights import shipped_weights

                    args.model = f"{args.model}_local"
                    if shipped_weights(args.model) is None:
                        raise InputError(f"--quality best needs weights for {args.model}, and none are shipped (its "
                                         f"local branch has not yet beaten the global model); train them and pass "
                                         f"--model {args.model} --weights FILE")
            elif args.quality == "balanced":
                lut = False
            if not args.quiet:
                print(f"using the shipped model {args.model} ({args.quality}; best on the held-out-curve benchmark)"
                      f"; --method bt2446c is the classical mapping")
    elif args.quality != "fast":
        raise InputError("--quality picks the tier of the default model; with --model or --method leave it out")
    if args.source_tmo is None and args.model is not None:
        from sdr2hdr.engine.convert import model_mapper

        mapper = model_mapper(args.model, args.weights, device=args.device, precision=args.precision,
                              tile=args.tile, peak_nits=args.peak_nits)
    elif args.source_tmo is None:
        mapper = classical_mapper(args.method or "bt2446c", args.peak_nits)
    if is_image_path(args.input):
        report = convert_image(args.input, args.output, mapper, overwrite=args.overwrite)
        print(f"wrote {report.output} ({report.width}x{report.height}, {mapper.description}, "
              f"MaxCLL {report.max_cll} cd/m2, MaxFALL {report.max_fall} cd/m2)")
        return 0
    report = convert_video(args.input, args.output, mapper, overwrite=args.overwrite, crf=args.crf, qp=args.qp,
                           preset=args.preset, mastering=MasteringDisplay(max_nits=args.peak_nits),
                           progress=not args.quiet, max_frames=args.max_frames,
                           lut=lut)
    s = report.seconds
    for note in report.notes:
        if note.startswith("global inverse"):
            print(f"note: {note}")
    print(f"wrote {report.output}: {report.frames} frames {report.width}x{report.height}, HEVC Main10 HDR10 "
          f"({mapper.description}), MaxCLL {report.max_cll} cd/m2, MaxFALL {report.max_fall} cd/m2, "
          f"{report.fps:.1f} frames/s (decode {s['decode']:.1f} s, convert {s['convert']:.1f} s, "
          f"encode {s['encode']:.1f} s)")
    return 0


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="streams, colour tags and HDR10 metadata of a video or image")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from sdr2hdr.engine.inspect import describe

    print(describe(args.file))
    return 0


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="the registered models: cards, parameter counts, shipped weights",
                       description="Print every registered model's card with our parameter count beside the "
                                   "paper's, and which names have shipped weights.")
    p.add_argument("--cost", action="store_true",
                   help="DIDNet table 5: operations of feature modulation vs kernel modulation")
    p.set_defaults(func=cmd_models)


def cmd_models(args) -> int:
    from sdr2hdr.models import cards_table, cost_table, list_models
    from sdr2hdr.models.weights import shipped_card

    if args.cost:
        print(cost_table())
        return 0
    print(cards_table())
    shipped = [(n, shipped_card(n)) for n in list_models()]
    shipped = [(n, c) for n, c in shipped if c is not None]
    print("\nshipped weights:" if shipped else "\nshipped weights: none yet (train with `sdr2hdr train`)")
    for name, card in shipped:
        print(f"  {name}: {card.get('summary', '')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sdr2hdr", description="SDR to HDR10 conversion: classical mappings and neural networks.")
    parser.add_argument("--version", action="version", version=f"sdr2hdr {__import__('sdr2hdr').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_convert(sub)
    _add_info(sub)
    _add_models(sub)
    from sdr2hdr.bench.commands import register as register_bench
    from sdr2hdr.data.commands import register as register_data
    from sdr2hdr.train.commands import register as register_train

    register_data(sub)
    register_train(sub)
    register_bench(sub)
    return parser


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (timeout, systemd, a closed terminal), raised in the main thread like Ctrl-C so the same
    cleanup runs: a conversion's temporary file is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame) -> None:
    for sig in _STOP_SIGNALS:  # a second signal must not interrupt the cleanup the first one started
        signal.signal(sig, signal.SIG_IGN)
    raise _Stopped(signum)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and a non-zero status for any error, a traceback only with SDR2HDR_DEBUG=1."""
    debug = os.environ.get("SDR2HDR_DEBUG") == "1"
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _stop)
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except InputError as exc:
        print(f"sdr2hdr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        try:
            print(f"sdr2hdr: interrupted by {signal.Signals(signum).name} (a conversion leaves no partial file; "
                  f"training keeps its checkpoints)", file=sys.stderr)
        except OSError:  # the terminal that sent SIGHUP is gone
            pass
        return 128 + signum
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the user gets one line; SDR2HDR_DEBUG shows the rest
        if debug:
            raise
        print(f"sdr2hdr: error: {type(exc).__name__}: {exc} (set SDR2HDR_DEBUG=1 for details)", file=sys.stderr)
        return 1


def entry() -> int:
    """The `sdr2hdr` command: main(), and after an interrupt an immediate exit with status 128 + the signal.

    A conversion interrupted while a worker thread is inside a torch kernel could otherwise end, after main has
    cleaned up and returned 130, killed by SIGINT during interpreter shutdown (exit status -2 instead of 130). The
    cleanup is done by then (temporary files removed, checkpoints already on disk), so nothing is lost by leaving
    at once.
    """
    status = main()
    if status in (128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(entry())
