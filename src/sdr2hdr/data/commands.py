"""`sdr2hdr data ...`: gather HDR sources, build paired SDR/HDR sets, and show them."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from sdr2hdr.errors import InputError


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"expected comma-separated integers, got {text!r}") from None


def _size(text: str) -> list[int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must be WxH, got {text!r}") from None
    return [h, w]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `data` command and its sub-commands to the CLI's sub-parsers."""
    p = sub.add_parser("data", help="training and test data (see `sdr2hdr data -h`)",
                       description="Real HDR sources -> paired HDR / SDR frames and clips with the papers' "
                                   "degradations (tone mapping, gamut clip, 8 bits, HEVC at fixed QPs, bicubic x2/x4).")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=type(p))

    for add in (_add_sources, _add_build, _add_show, _add_generate, _add_heldout):
        add(dsub)


def _add_sources(dsub: argparse._SubParsersAction) -> None:
    """`data sources`: the starter HDR stills."""
    s = dsub.add_parser("sources", help="download the starter HDR stills (apt-get download, npm pack) into DIR",
                        description="Fetch the starter HDR photographs without installing anything (Debian "
                                    "blender-data, psychtoolbox-3-common, qtcreator-data; npm @pmndrs/assets), "
                                    "record origin and licence of each file in DIR/sources.json, skip what is there.")
    s.add_argument("dir", type=Path)
    s.add_argument("--only", action="append", default=None, metavar="PACKAGE",
                   help="fetch only this package folder (repeatable)")
    s.set_defaults(func=cmd_sources)


def _add_build(dsub: argparse._SubParsersAction) -> None:
    """`data build`: a paired set from HDR sources."""
    b = dsub.add_parser("build", help="build a paired set from a folder of HDR sources",
                        description="Clips from HDR stills (virtual camera) or HDR10 videos -> HQ HDR (16-bit PQ "
                                    "PNG), HQ SDR (8-bit), LQ SDR per QP and scale, manifests and splits. "
                                    "Deterministic from the seed; rerun the same command to resume.")
    b.add_argument("--sources", type=Path, required=True, help="folder of EXR / .hdr / 16-bit PQ PNG / HDR10 video")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--recipe", type=Path, default=None,
                   help="recipe YAML (default: the built-in one, spelled out in configs/data/default.yaml)")
    b.add_argument("--seed", type=int, default=None)
    b.add_argument("--frames", type=int, default=None, help="frames per clip")
    b.add_argument("--size", type=_size, default=None, help="clip size WxH")
    b.add_argument("--qps", type=_ints, default=None, help="e.g. 27,32,37,42,47")
    b.add_argument("--scales", type=_ints, default=None, help="e.g. 1,2,4")
    b.add_argument("--intra", action="store_true", default=None, help="intra-only HEVC (keyint=1)")
    b.add_argument("--clips-per-source", type=_ints, default=None, metavar="TRAIN,TEST")
    b.add_argument("--workers", type=int, default=2, help="parallel clip builders (default 2)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)


def _add_show(dsub: argparse._SubParsersAction) -> None:
    """`data show`: a contact sheet."""
    w = dsub.add_parser("show", help="write a contact sheet PNG of a built set",
                        description="For a few clips: HQ HDR (tone-mapped for display, method in the title), "
                                    "HQ SDR, LQ SDR at two QPs.")
    w.add_argument("dir", type=Path)
    w.add_argument("--out", type=Path, default=None, help="PNG path (default DIR/contact_sheet.png)")
    w.add_argument("--clips", type=int, default=4)
    w.add_argument("--qps", type=_ints, default=None, metavar="LO,HI")
    w.set_defaults(func=cmd_show)


def _add_generate(dsub: argparse._SubParsersAction) -> None:
    """`data generate`: the randomised training pool."""
    g = dsub.add_parser("generate", help="randomised training pairs: random gradings, curves, codecs (the pool)",
                        description="Crops of the training sources, each graded by a random convention and made "
                                    "SDR by a random filmic curve or a standard one with random parameters, then "
                                    "x264/x265 at a random QP or CRF (recipe: configs/data/generated.yaml). "
                                    "Resumable: finished shards are kept.")
    g.add_argument("--sources", type=Path, required=True)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--count", type=int, default=6144, help="pairs to make (default 6144)")
    g.add_argument("--size", type=int, default=128, help="crop side (default 128)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--workers", type=int, default=2)
    g.set_defaults(func=cmd_generate)


def _add_heldout(dsub: argparse._SubParsersAction) -> None:
    """`data heldout`: the held-out-curve test set."""
    h = dsub.add_parser("heldout", help="the held-out-curve test set: every test clip through every curve",
                        description="Each test clip of a built set, tone mapped by each standard curve and by the "
                                    "curves no training set contains (aces, log_shoulder), x265 at each QP, and the "
                                    "uncoded SDR down-scaled x2 / x4 (MATLAB-style bicubic) for the SR-ITM task; "
                                    "laid out as a built set for `sdr2hdr benchmark --heldout` and `--task sr-itm`. "
                                    "Rerun to resume, or to add the x2 / x4 inputs to a set made without them.")
    h.add_argument("--data", type=Path, required=True, help="a built set (its test split is used)")
    h.add_argument("--out", type=Path, required=True)
    h.add_argument("--qps", type=_ints, default=[27, 37, 42])
    h.add_argument("--frames", type=int, default=6)
    h.add_argument("--scales", type=_ints, default=[1, 2, 4],
                   help="scales of the uncoded SDR (default 1,2,4; x1 is always written; x2 and x4 are the "
                        "SR-ITM papers' antialiased bicubic down-scales)")
    h.add_argument("--quiet", action="store_true")
    h.set_defaults(func=cmd_heldout)


def cmd_sources(args: argparse.Namespace) -> int:
    from sdr2hdr.data.sources import gather

    report = gather(args.dir, only=args.only)
    print(f"{args.dir}: {len(report.fetched)} files fetched, {len(report.present)} package(s) already there, "
          f"{len(report.failed)} failed; origins and licences in {args.dir / 'sources.json'}")
    return 1 if report.failed else 0


def cmd_build(args: argparse.Namespace) -> int:
    from sdr2hdr.data.build import build
    from sdr2hdr.data.recipe import Recipe

    cps = None
    if args.clips_per_source is not None:
        if len(args.clips_per_source) != 2:
            raise InputError("--clips-per-source takes TRAIN,TEST")
        cps = {"train": args.clips_per_source[0], "test": args.clips_per_source[1]}
    recipe = Recipe.from_yaml(args.recipe, seed=args.seed, frames=args.frames, size=args.size, qps=args.qps,
                              scales=args.scales, intra_only=args.intra, clips_per_source=cps)
    try:
        report = build(args.sources, args.out, recipe, workers=args.workers, progress=not args.quiet)
    except KeyboardInterrupt:
        print("sdr2hdr: interrupted; finished clips are kept, rerun the same command to resume", file=sys.stderr)
        return 128 + signal.SIGINT
    splits = ", ".join(f"{n} {k}" for k, n in report.clips_per_split.items())
    print(f"{args.out}: {report.total} clips ({splits}); built {report.built}, {report.resumed} already there; "
          f"{len(report.skipped)} source file(s) skipped; {report.bytes_on_disk / 1e9:.2f} GB; "
          f"{report.seconds / 60:.1f} min")
    return 0 if report.complete else 1


def cmd_show(args: argparse.Namespace) -> int:
    from sdr2hdr.data.show import contact_sheet

    qps = None
    if args.qps is not None:
        if len(args.qps) != 2:
            raise InputError("--qps takes LO,HI")
        qps = tuple(args.qps)
    path = contact_sheet(args.dir, args.out, n_clips=args.clips, qps=qps)
    print(f"wrote {path}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from sdr2hdr.data.generator import build_pool

    if args.count < 1 or args.size < 16 or args.size % 2:
        raise InputError("--count must be positive and --size an even number of at least 16")
    if not args.sources.is_dir():
        raise InputError(f"no such sources folder: {args.sources}")
    build_pool(args.sources, args.out, count=args.count, size=args.size, seed=args.seed, workers=args.workers)
    print(f"wrote {args.out} ({args.count} pairs)")
    return 0


def cmd_heldout(args: argparse.Namespace) -> int:
    from sdr2hdr.data.heldout import build_heldout

    out = build_heldout(args.data, args.out, qps=tuple(args.qps), frames=args.frames, scales=tuple(args.scales),
                        progress=not args.quiet)
    print(f"wrote {out}")
    return 0
