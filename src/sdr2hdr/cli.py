"""The `sdr2hdr` command line: each sub-command is a thin shell over the library."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from sdr2hdr.argtypes import in_range, positive
from sdr2hdr.engine.request import (
    CONTRAST_RANGE,
    EXPOSURE_STOPS,
    JOURNAL_AFTER,
    METHODS,
    PRECISIONS,
    PRESETS,
    SATURATION_RANGE,
    middle_grey_arg,
)
from sdr2hdr.errors import CliParser, InputError, run_cli
from sdr2hdr.io.codecs import CODECS, TRANSFERS


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="SDR video or image -> HDR10 video (HEVC Main10) or HDR image",
                       description="Convert an SDR video to an HDR10 file (BT.2020, PQ, 10-bit HEVC, mastering "
                                   "display and measured MaxCLL/MaxFALL, audio and subtitles kept), or an SDR image "
                                   "to a 16-bit PQ PNG or a linear EXR.")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    add_convert_options(p)
    add_segment_options(p)
    p.set_defaults(func=cmd_convert)


def add_convert_options(p: argparse.ArgumentParser) -> None:
    """The conversion options, shared by `convert` and `batch` (engine.request.ConvertRequest checks their values;
    each dest is the name of one of its fields)."""
    how = p.add_mutually_exclusive_group()
    how.add_argument("--method", choices=METHODS, default=None,
                     help="classical inverse mapping (the default when no shipped model beats them)")
    how.add_argument("--model", default=None, help="a registered model (see `sdr2hdr models`)")
    how.add_argument("--source-tmo", default=None, metavar="NAME",
                     help="informed mode, for SDR known to be made from an HDR master by this curve (bt2446a, "
                          "bt2446c, bt2390, hable, reinhard, camera): its exact inverse plus learned restoration")
    how.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                     help="the mapping fitted by `sdr2hdr calibrate` from matched SDR/HDR material")
    # 'best' (the local branch) stays out of the help while no weights for it are shipped; the request refuses it
    p.add_argument("--quality", default="fast", metavar="{fast,balanced}",
                   help="cost tier of the default model: fast (the per-shot inverse baked into the code table, "
                        "real time on a CPU), balanced (the same inverse per pixel in float, interpolated chroma)")
    p.add_argument("--weights", type=Path, default=None, help="weights for --model (default: the shipped ones)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="model arithmetic (bf16 is about 3x faster on recent CPUs)")
    p.add_argument("--tile", type=positive(int), default=512,
                   help="run the model on overlapping tiles of this size (default 512)")
    # 10000 cd/m2 is the top of PQ; below 100 the HDR master would be dimmer than SDR reference white
    p.add_argument("--peak-nits", type=in_range(100.0, 10000.0, " cd/m2"), default=1000.0,
                   help="mastering display peak in cd/m2, 100..10000; the graded signal is limited to it, the "
                        "declared MaxCLL is measured on the decoded file (lossy coding can overshoot it at a few "
                        "pixels; docs/usage.md, Delivery) (default 1000)")
    p.add_argument("--exposure", type=in_range(-EXPOSURE_STOPS, EXPOSURE_STOPS, " stops"), default=0.0,
                   metavar="STOPS",
                   help="brightness trim of the HDR output in stops (+1 doubles its light, -0.5 dims it by 30%%), "
                        "before the peak limit; for any mode (default 0)")
    p.add_argument("--middle-grey", type=middle_grey_arg, default=26.0, metavar="NITS",
                   help="the default model's level: an SDR 18%% grey card lands at NITS cd/m2 and the picture's median "
                        "follows its SDR median (BT.2408: 26, the default; docs/conventions.md); 0: the level the "
                        "model estimates")
    add_look_options(p)
    rc = p.add_mutually_exclusive_group()
    rc.add_argument("--crf", type=float, default=None,
                    help="constant rate factor (default 18 for x265; 30 on SVT-AV1's scale with --codec av1)")
    rc.add_argument("--qp", type=int, default=None, help="x265 constant QP instead of CRF")
    p.add_argument("--preset", choices=PRESETS, default="fast",
                   help="x265 preset (default fast); with --codec av1 the SVT-AV1 preset of like speed (fast = 10)")
    add_delivery_options(p)
    p.add_argument("--exact", action="store_true",
                   help="classical methods: map every pixel in float with interpolated chroma instead of the "
                        "8-bit code table (several times slower, differs by a 10-bit code or two at colour edges)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-frames", type=positive(int), default=None, help="stop after N frames")
    p.add_argument("--journal-after", type=in_range(0.0, float("inf"), " s"), default=JOURNAL_AFTER, metavar="S",
                   help="a video longer than S seconds is converted resumably: a journal of finished segments is "
                        "kept beside the output, so the same command run again after a kill continues (default "
                        f"{JOURNAL_AFTER:g}; see docs/usage.md for its disk cost)")


def add_delivery_options(p: argparse.ArgumentParser) -> None:
    """--codec, --transfer, --bits, --alt-transfer-sei: what the video output is delivered as (io.codecs)."""
    d = p.add_argument_group("delivery")
    d.add_argument("--codec", choices=tuple(CODECS), default="hevc",
                   help="hevc (x265 Main10, default), av1 (SVT-AV1 10-bit, about 4x faster), prores (422 HQ) or "
                        "prores4444 (.mov/.mkv) and ffv1 (lossless, .mkv) for mezzanine")
    d.add_argument("--transfer", choices=TRANSFERS, default="pq",
                   help="pq (HDR10, default) or hlg (BT.2100 HLG at 1000 cd/m2, arib-std-b67; no static metadata)")
    d.add_argument("--bits", type=int, choices=(10, 12), default=None,
                   help="sample bit depth (default 10; 12 with --codec ffv1)")
    d.add_argument("--hdr10plus", action="store_true",
                   help="HDR10+ (SMPTE ST 2094-40) per-scene metadata measured on the output, in HEVC SEI or AV1 "
                        "metadata OBUs, plus OUTPUT.hdr10plus.json")
    d.add_argument("--alt-transfer-sei", action="store_true",
                   help="HLG in HEVC: declare BT.2020 in the stream header for older decoders and HLG in the "
                        "alternative-transfer SEI")


def add_look_options(p: argparse.ArgumentParser) -> None:
    """--saturation, --contrast, --deband (engine.look, engine.deband): for any mode."""
    p.add_argument("--saturation", type=in_range(*SATURATION_RANGE, ""), default=1.0, metavar="S",
                   help="colour of the HDR output in linear light around its grey: 0 grey, 1 unchanged (default), "
                        "up to 2")
    p.add_argument("--contrast", type=in_range(*CONTRAST_RANGE, ""), default=1.0, metavar="C",
                   help="luminance contrast around BT.2408 mid grey (26 cd/m2), 0.5..2: above 1 brighter "
                        "highlights and deeper shadows, below 1 flatter (default 1)")
    p.add_argument("--deband", action="store_true",
                   help="fill the 8-bit quantisation steps of smooth areas (sky, gradients) before expansion; "
                        "per frame, so no code table")


def add_segment_options(p: argparse.ArgumentParser) -> None:
    """--resume, --segment-seconds, --ray, --ray-workers: the film cut into keyframe segments (engine.segments)."""
    seg = p.add_argument_group("long films: segments, resume, Ray")
    seg.add_argument("--resume", action="store_true",
                     help="convert in segments kept in a hidden folder beside the output; after an interruption "
                          "the same command continues from the last finished segment")
    seg.add_argument("--segment-seconds", type=positive(float), default=None, metavar="S",
                     help="segment length in seconds, cut at the input's keyframes (default 10 with --resume or "
                          "--ray)")
    seg.add_argument("--ray", default=None, metavar="ADDRESS",
                     help="convert the segments as Ray tasks: 'local' starts a cluster on this machine, "
                          "HOST:PORT joins one (input and output on a filesystem every node sees)")
    seg.add_argument("--ray-workers", type=positive(int), default=None, metavar="N",
                     help="CPUs of the local cluster (--ray local; default: all)")


def cmd_convert(args: argparse.Namespace) -> int:
    from sdr2hdr.engine.convert import run
    from sdr2hdr.engine.paths import is_image_path
    from sdr2hdr.engine.request import ConvertRequest

    report = run(ConvertRequest.from_args(args))
    if is_image_path(args.input):
        print(f"wrote {report.output} ({report.width}x{report.height}, {report.mapping}, "
              f"MaxCLL {report.max_cll} cd/m2, MaxFALL {report.max_fall} cd/m2)")
        return 0
    s = report.seconds
    for note in report.notes:
        if note.startswith(("global inverse", "HDR10+")):
            print(f"note: {note}")
    light = (f"MaxCLL {report.max_cll} cd/m2, MaxFALL {report.max_fall} cd/m2" if report.max_cll or report.max_fall
             else "no static metadata (HLG)")
    print(f"wrote {report.output}: {report.frames} frames {report.width}x{report.height}, {report.delivery} "
          f"({report.mapping}), {light}, "
          f"{report.fps:.1f} frames/s (decode {s['decode']:.1f} s, convert {s['convert']:.1f} s, "
          f"encode {s['encode']:.1f} s)")
    return 0


def _add_batch(sub) -> None:
    p = sub.add_parser("batch", help="convert every SDR video and image under a folder, mirroring the tree",
                       description="Convert every video (to --video-ext) and SDR image (to a 16-bit PQ PNG) under "
                                   "IN_DIR into the same tree under OUT_DIR. Files whose output exists are skipped "
                                   "(run it again to resume); a bad file is reported and the others go on. Writes "
                                   "OUT_DIR/sdr2hdr-batch.json (or .csv). Exit status 1 when any file failed, 2 for "
                                   "bad usage.")
    p.add_argument("in_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    p.add_argument("--jobs", type=positive(int), default=1,
                   help="files converted at once (worker processes; with --ray local, the cluster's CPUs)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="spread the files over Ray workers: 'local' starts a cluster here, else the address of a "
                        "running one (ray start --head); needs the 'scale' extra")
    p.add_argument("--video-ext", default=".mkv", help="container of converted videos (default .mkv)")
    p.add_argument("--summary", choices=("json", "csv"), default="json", help="summary file format")
    add_convert_options(p)
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from sdr2hdr.batch import run_batch
    from sdr2hdr.engine.request import convert_options
    from sdr2hdr.io.codecs import check_delivery

    # every video gets --video-ext: a codec that container cannot hold is refused once, before any file
    check_delivery(args.video_ext.lower(), args.codec, args.transfer, args.bits, hdr10plus=args.hdr10plus,
                   alt_transfer_sei=args.alt_transfer_sei)
    result = run_batch(args.in_dir, args.out_dir, convert_options(args), jobs=args.jobs, ray=args.ray,
                       video_ext=args.video_ext, summary=args.summary, quiet=args.quiet)
    failed = [r for r in result.rows if r["status"] == "failed"]
    print(f"{result.count('converted')} converted, {result.count('skipped')} skipped (already done), "
          f"{len(failed)} failed; summary: {result.summary}")
    if failed:
        print(f"failed ({len(failed)}):", file=sys.stderr)
        for row in failed:
            print(f"  {row['input']}: {row['reason']}", file=sys.stderr)
    # 1, not 2: the command was right and the other files are done; 2 stays for usage the user must fix
    return 1 if failed else 0


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="streams, colour tags and HDR10 metadata of a video or image")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from sdr2hdr.engine.inspect import describe

    print(describe(args.file))
    return 0


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="the registered models: summaries, parameter counts, shipped weights",
                       description="Print every registered model's summary with our parameter count beside the "
                                   "paper's, and which names have shipped weights.")
    p.add_argument("--cost", action="store_true",
                   help="DIDNet table 5: operations of feature modulation vs kernel modulation")
    p.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from sdr2hdr.models import cost_table, list_models, summaries_table
    from sdr2hdr.models.weights import default_tag, shipped_card, shipped_tags, split_tag, weights_dir

    if args.cost:
        print(cost_table())
        return 0
    print(summaries_table())
    # a folder of one's own (SDR2HDR_WEIGHTS_DIR) may hold untagged <name>.safetensors files too
    shipped = [f"{n}.{t}" for n in list_models() for t in shipped_tags(n)]
    shipped += [n for n in list_models() if (weights_dir() / f"{n}.safetensors").is_file()]
    print("\nshipped weights (NAME.TAG; NAME alone is the tag marked *; sha256 checked on load):" if shipped
          else "\nshipped weights: none yet (train with `sdr2hdr train`)")
    for key in shipped:
        name, tag = split_tag(key)
        card = shipped_card(key) or {}
        mark = "*" if tag is None or tag == default_tag(name) else " "
        print(f" {mark} {key} [sha256 {str(card.get('sha256', 'not recorded'))[:12]}]: {card.get('summary', '')}")
    return 0


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="HTML page: wipe between an SDR picture and its HDR version, false-colour "
                                       "light map, MaxCLL/MaxFALL over time",
                       description="Write a self-contained HTML page with a wipe slider between the SDR picture and "
                                   "the HDR one tone-mapped for SDR screens, and the HDR picture itself (16-bit PNG "
                                   "with cICP) for HDR-capable browsers. Images or video frames (--frame).")
    p.add_argument("sdr", type=Path, help="the SDR image or video")
    p.add_argument("hdr", type=Path, help="its HDR version: 16-bit PQ PNG, EXR or HDR10 video")
    p.add_argument("--html", type=Path, required=True, metavar="OUT", help="the page to write")
    p.add_argument("--frame", type=int, default=0, help="video frame to show, from 0 (default 0)")
    p.add_argument("--frames", type=positive(int), default=1,
                   help="show N frames spread from --frame to the end of the clip, picked with a frame slider")
    p.add_argument("--width", type=positive(int), default=None, metavar="PX",
                   help="width of the pictures on the page (default: the HDR width, at most 1280)")
    p.add_argument("--tonemap", choices=("bt2390", "bt2446a"), default="bt2390",
                   help="HDR -> SDR for the wipe: BT.2390 EETF on maxRGB (default) or BT.2446 method A")
    p.add_argument("--overwrite", action="store_true", help="replace an existing page")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from sdr2hdr.engine.preview import compare_page

    if args.frame < 0:
        raise InputError(f"--frame must be 0 or more, got {args.frame}")
    if args.html.exists() and not args.overwrite:
        raise InputError(f"output exists: {args.html} (use --overwrite to replace it)")
    page = compare_page(args.sdr, args.hdr, args.html, frame=args.frame, tonemap=args.tonemap, frames=args.frames,
                        width=args.width)
    print(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB, pictures embedded)")
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a registered model to ONNX (dynamic height and width)",
                       description="Export a model (shipped weights, or --weights) to ONNX, opset 17, with dynamic "
                                   "batch, height and width, then run it in onnxruntime at another size and print "
                                   "the max difference from PyTorch. Models with a global prior take its "
                                   "fixed-size view as a second input. Exit 2 with the reason when a model cannot "
                                   "export.")
    p.add_argument("name")
    p.add_argument("output", type=Path)
    p.add_argument("--weights", type=Path, default=None, help="weights to export (default: the shipped ones)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    # the path checks first: they need no torch
    if args.output.suffix.lower() != ".onnx":
        raise InputError(f"the output should end in .onnx, not {args.output.suffix or 'no extension'}")
    if not args.output.parent.is_dir():
        raise InputError(f"output directory does not exist: {args.output.parent}")
    if args.output.exists() and not args.overwrite:
        raise InputError(f"output exists: {args.output} (use --overwrite to replace it)")
    from sdr2hdr.models import list_models
    from sdr2hdr.models.export import TOLERANCE, check_export

    if args.name not in list_models():
        raise InputError(f"unknown model {args.name!r}; `sdr2hdr models` lists them")
    plan, diff, size = check_export(args.name, args.output, args.weights)
    print(f"wrote {args.output}: {args.name}, ONNX opset {plan.opset}, inputs {', '.join(plan.inputs)} "
          f"(height and width dynamic); max |onnxruntime - PyTorch| = {diff:.2g} at {size[0]}x{size[1]} "
          f"(tolerance {TOLERANCE:g})")
    return 0 if diff <= TOLERANCE else 1


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="sdr2hdr", description="SDR to HDR10 conversion: classical mappings and neural networks.")
    parser.add_argument("--version", action="version", version=f"sdr2hdr {__import__('sdr2hdr').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)
    _add_convert(sub)
    _add_batch(sub)
    _add_info(sub)
    _add_models(sub)
    _add_export(sub)
    _add_compare(sub)
    from sdr2hdr.bench.commands import register as register_bench
    from sdr2hdr.data.commands import register as register_data
    from sdr2hdr.engine.colourist import register as register_colourist
    from sdr2hdr.train.commands import register as register_train

    register_data(sub)
    register_train(sub)
    register_bench(sub)
    register_colourist(sub)
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
    """Entry point: one line and a non-zero status for any error, a traceback only with SDR2HDR_DEBUG=1.

    Re-entrant: nothing is kept between calls; the stop handlers are installed for the call (from the main
    thread, the only one signals reach) and the previous ones put back after it, unless a stop signal came.
    """
    in_main = threading.current_thread() is threading.main_thread()
    before = {sig: signal.signal(sig, _stop) for sig in _STOP_SIGNALS} if in_main else {}

    def body() -> int:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version: argparse printed them and exits (usage errors raise)
            return int(exc.code or 0)
        return args.func(args)

    try:
        return run_cli(body, after="a conversion leaves no partial file; training keeps its checkpoints")
    finally:
        for sig, handler in before.items():
            if signal.getsignal(sig) is _stop:  # after a stop signal they stay ignored until the process ends
                signal.signal(sig, handler)


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
