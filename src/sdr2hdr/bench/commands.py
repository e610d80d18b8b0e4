"""`sdr2hdr evaluate` and `sdr2hdr benchmark`: score models and classical mappings on a built data set's test split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sdr2hdr.argtypes import positive_int
from sdr2hdr.errors import InputError

CLASSICAL = ("bt2408", "bt2446a", "bt2446c")
EXTRA_METRICS = ("mpsnr", "vifp", "haarpsi", "vsi")
SR_ITM_METRICS = ("psnr", "ssim", "mpsnr", "delta_e_itp")  # Deep SR-ITM's and GPGMNet's tables, with Delta E ITP


def _qp(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a QP: {text!r}") from None
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"a QP is in 0..51, got {text!r}")
    return value


def _common(p) -> None:
    from sdr2hdr.bench.scores import DEFAULT_METRICS, METRIC_INFO

    p.add_argument("--data", type=Path, required=True, help="a data set built by `sdr2hdr data build`")
    p.add_argument("--split", default="test", help="which split to score (default test)")
    p.add_argument("--metrics", nargs="+", choices=list(METRIC_INFO), default=None, metavar="METRIC",
                   help=f"metrics to compute (default {' '.join(DEFAULT_METRICS)}; also {', '.join(EXTRA_METRICS)}, "
                        f"cvvdp)")
    p.add_argument("--all-metrics", action="store_true",
                   help=f"add {', '.join(EXTRA_METRICS)} (slower on a CPU)")
    p.add_argument("--cvvdp", action="store_true", help="add ColorVideoVDP JOD (much slower)")
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N",
                   help="score at most N frames per clip, evenly spread (multi-frame models still see neighbours)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    p.add_argument("--tile", type=positive_int, default=512,
                   help="run models on overlapping tiles of this size when a frame is larger (default 512)")
    p.add_argument("--peak-nits", type=float, default=1000.0,
                   help="mastering peak in cd/m2; every output is limited to it (default 1000)")
    p.add_argument("--report-frames", type=int, default=3, metavar="N",
                   help="test frames shown in report.html (default 3; 0 for none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `evaluate` and `benchmark` to the CLI's sub-parsers."""
    p = sub.add_parser("evaluate", help="score one model or classical mapping on a data set's test split",
                       description="Score one registered model (shipped weights, --weights or the mean of the last "
                                   "checkpoints) or one classical mapping on the test split of a built data set, "
                                   "per QP and per degradation model.")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--model", help="a registered model, or a classical mapping name (bt2408, bt2446a, bt2446c)")
    how.add_argument("--method", choices=CLASSICAL, help="a classical mapping")
    p.add_argument("--weights", type=Path, default=None, help="weights for --model (default: the shipped ones)")
    p.add_argument("--average-last", nargs=2, metavar=("K", "CKPT_DIR"), default=None,
                   help="use the mean of the last K checkpoints in CKPT_DIR (DIDNet averages 6)")
    p.add_argument("--qp", nargs="+", type=_qp, default=None, metavar="QP", help="QPs to score (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="write results.csv, summary.csv, results.md, plots/ and report.html here")
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("benchmark", help="every model with weights and the classical mappings, per QP: tables, "
                                         "plots, HTML report",
                       description="Run every requested model (shipped weights by default; models without weights "
                                   "are skipped with a note) and the classical mappings on the same test split at "
                                   "each QP; write results.csv, summary.csv, results.md (the papers' table layouts, "
                                   "overall and per degradation model), plots/ and report.html.")
    p.add_argument("--models", nargs="*", default=None, metavar="NAME",
                   help="registered models: NAME (shipped weights), NAME.TAG (a shipped tag) or NAME=FILE "
                        "(a .safetensors file); default: every one with weights; none: classical only")
    p.add_argument("--methods", nargs="*", choices=CLASSICAL, default=list(CLASSICAL), metavar="METHOD",
                   help=f"classical mappings to include (default {' '.join(CLASSICAL)}; none: models only)")
    p.add_argument("--weights-dir", type=Path, default=None,
                   help="take <name>.safetensors from this folder instead of the shipped weights")
    p.add_argument("--qps", nargs="+", type=_qp, default=None, metavar="QP", help="QPs to score (default: all)")
    p.add_argument("--out", type=Path, default=Path("benchmark"), help="output folder (default ./benchmark)")
    p.add_argument("--heldout", type=Path, default=None, metavar="LOCO_DIR",
                   help="the held-out-curve protocol on a set made by `sdr2hdr data heldout` (--data): each "
                        "standard curve scored with LOCO_DIR/<curve>.safetensors (trained without it), the unseen "
                        "curves with the default model's weights; writes heldout.md, heldout.csv, a plot")
    p.add_argument("--heldout-model", default="adaptive_itm", help="the model of the held-out protocol")
    p.add_argument("--ceilings", action="store_true",
                   help="--heldout: also the default weights on every curve (row 'default': level by the convention of "
                        "color.level; 'default_learned_level': as estimated) and the global mappings "
                        "fitted per clip to its master (the default's own family, a 33-point 3D LUT)")
    p.add_argument("--task", choices=("itm", "sr-itm"), default="itm",
                   help="itm (default): same-size mapping; sr-itm: joint super-resolution + ITM as Deep SR-ITM and "
                        "GPGMNet ran it: x--scale input, full-size target, bicubic + each classical mapping as the "
                        "baselines, the SR models at that scale; writes sr_itm.md and sr_itm.csv too")
    p.add_argument("--scale", type=int, choices=(2, 4), default=None, help="the SR factor of --task sr-itm")
    p.add_argument("--input", choices=("uncoded", "coded"), default=None,
                   help="the input frames: uncoded (the HQ SDR; for sr-itm the MATLAB-style bicubic down-scale, the "
                        "papers' protocol; the sr-itm default) or coded (x265 at --qps; the itm default)")
    p.add_argument("--checkpoints", nargs="+", default=None, metavar="NAME=DIR",
                   help="DIDNet's protocol: score each of the last --last checkpoints of model NAME in DIR (a "
                        "training run's folder or its checkpoints/); the tables report their mean score ± s.d.")
    p.add_argument("--last", type=positive_int, default=6, metavar="K",
                   help="how many of the newest checkpoints --checkpoints scores (default 6, as DIDNet)")
    p.add_argument("--weight-average", action="store_true",
                   help="with --checkpoints: also score one model with the mean weights of those checkpoints, as a "
                        "row of its own (our variant of DIDNet's protocol)")
    _common(p)
    p.set_defaults(func=cmd_benchmark)


def _metrics(args) -> list[str]:
    from sdr2hdr.bench.scores import DEFAULT_METRICS, check_metrics

    default = SR_ITM_METRICS if getattr(args, "task", "itm") == "sr-itm" else DEFAULT_METRICS
    names = list(args.metrics or default)
    if args.all_metrics:
        names += EXTRA_METRICS
    if args.cvvdp:
        names.append("cvvdp")
    return check_metrics(names)


def _run(args, methods, notes, qps, out: Path | None) -> int:
    from sdr2hdr.bench.report import Summary, by_degradation_table, sr_itm_table, table1, write_all
    from sdr2hdr.bench.run import run_benchmark
    from sdr2hdr.data.split import load_split
    from sdr2hdr.engine.infer import pick_device

    clips = load_split(args.data, args.split)
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out is a file, not a folder: {out}")
    device = pick_device(args.device)
    result = run_benchmark(clips, methods, qps, _metrics(args), max_frames=args.max_frames,
                           report_frames=args.report_frames, progress=not args.quiet, split=args.split,
                           data_dir=str(args.data), device=str(device), notes=notes,
                           task=getattr(args, "task", "itm"))
    s = Summary(result)
    print(sr_itm_table(s).markdown() if result.task == "sr-itm" else table1(s).markdown())
    if "psnr" in result.metrics and len(s.degradations) > 1:
        print("\nPSNR by degradation model (mean over QPs):")
        print(by_degradation_table(s, "psnr").markdown())
    for note in dict.fromkeys(result.notes):
        print(f"note: {note}", file=sys.stderr)
    if out is not None:
        paths = write_all(result, out)
        print(f"\nwrote {', '.join(str(p) for p in paths.values())} and {out / 'plots'}/")
    return 0


def _check_common(args) -> None:
    if args.report_frames < 0:
        raise InputError(f"--report-frames must be 0 or more, got {args.report_frames}")
    if args.peak_nits <= 0:
        raise InputError(f"--peak-nits must be positive, got {args.peak_nits}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sdr2hdr.bench.methods import classical_method, is_classical, model_method
    from sdr2hdr.data.split import find_manifest

    _check_common(args)
    find_manifest(args.data)  # a wrong folder is refused before a model is built
    name = args.method or args.model
    if is_classical(name):
        if args.weights or args.average_last:
            raise InputError(f"{name} is a classical mapping: it takes no --weights or --average-last")
        method = classical_method(name, args.peak_nits)
    else:
        if args.weights and args.average_last:
            raise InputError("--weights and --average-last are exclusive")
        average = None
        if args.average_last:
            k, ckpt_dir = args.average_last
            try:
                average = (int(k), Path(ckpt_dir))
            except ValueError:
                raise InputError(f"--average-last K CKPT_DIR: K must be an integer, got {k!r}") from None
        method = model_method(name, args.weights, average, device=args.device, precision=args.precision,
                              tile=args.tile, peak_nits=args.peak_nits)
    return _run(args, [method], [], args.qp, args.out)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from sdr2hdr.data.split import find_manifest

    _check_common(args)
    find_manifest(args.data)
    if args.weights_dir is not None and not args.weights_dir.is_dir():
        raise InputError(f"no such weights folder: {args.weights_dir}")
    if args.heldout is not None:
        return _heldout(args)
    scale = _check_task(args)
    # classical rows first, as the papers list the previous methods before their own
    methods = _classical(args, scale)
    notes: list[str] = []
    methods += _models(args, scale, notes)
    methods += _checkpoints(args, scale)
    qps = [None] if args.input == "uncoded" else args.qps
    return _run(args, methods, notes, qps, args.out)


def _check_task(args) -> int:
    """The input scale every method takes (1 for itm); refuses options that do not go with the task."""
    if args.task == "sr-itm" and args.scale is None:
        raise InputError("--task sr-itm needs --scale 2 or --scale 4")
    if args.task == "itm" and args.scale is not None:
        raise InputError("--scale goes with --task sr-itm")
    if args.input is None:
        args.input = "uncoded" if args.task == "sr-itm" else "coded"
    if args.input == "uncoded" and args.qps:
        raise InputError("--qps goes with --input coded (the uncoded input has no QP)")
    if (args.weight_average or args.last != 6) and not args.checkpoints:
        raise InputError("--last and --weight-average go with --checkpoints NAME=DIR")
    return args.scale or 1


def _classical(args, scale: int) -> list:
    from sdr2hdr.bench.methods import bicubic_method, classical_method

    names = dict.fromkeys(args.methods)
    if scale == 1:
        return [classical_method(m, args.peak_nits) for m in names]
    return [bicubic_method(m, scale, args.peak_nits) for m in names]


def _split_spec(spec: str) -> tuple[str, Path | None]:
    name, sep, path = spec.partition("=")
    if sep and not path:
        raise InputError(f"{spec!r}: give NAME=FILE with a file after the '='")
    return name, (Path(path) if sep else None)


def _check_model(name: str, scale: int) -> None:
    """An unknown name, or for sr-itm a model at another scale than the task's, is refused before any work.

    The itm task keeps its mixed table: an SR model there takes the coded input at its own scale.
    """
    from sdr2hdr.models import get_summary, list_models
    from sdr2hdr.models.weights import split_tag

    model = split_tag(name)[0]
    if model not in list_models():
        raise InputError(f"unknown model {model!r}; registered: {', '.join(list_models())}")
    got = get_summary(model).scale
    if scale > 1 and got != scale:
        hint = f"--scale {got}" if got > 1 else "--task itm"
        raise InputError(f"{model} takes x{got} input, but --task sr-itm --scale {scale} scores x{scale} input; "
                         f"use {hint}")


def _models(args, scale: int, notes: list[str]) -> list:
    """The --models rows: shipped weights (by default every model at the task's scale that has them), a shipped
    tag, or a file."""
    from sdr2hdr.bench.methods import model_method
    from sdr2hdr.models import get_summary, list_models
    from sdr2hdr.models.weights import shipped_weights

    if args.models is None:
        specs = [n for n in list_models() if scale == 1 or get_summary(n).scale == scale]
    else:
        specs = list(dict.fromkeys(args.models))
    out, no_weights = [], []
    for spec in specs:
        name, path = _split_spec(spec)
        _check_model(name, scale)
        if path is None:
            path = (args.weights_dir / f"{name}.safetensors") if args.weights_dir else shipped_weights(name)
            if path is None or not Path(path).is_file():
                no_weights.append(name)
                continue
            # a shipped file is loaded by name, so its sha256 is checked against its card
            path = path if args.weights_dir else None
        elif not path.is_file():
            raise InputError(f"no such weights file for {name}: {path}")
        out.append(model_method(name, path, device=args.device, precision=args.precision, tile=args.tile,
                                peak_nits=args.peak_nits))
    if no_weights:
        where = f"in {args.weights_dir}" if args.weights_dir else "shipped"
        notes.append(f"no weights {where} for {', '.join(no_weights)}: not benchmarked"
                     + ("" if args.models is None else "; give NAME=FILE.safetensors"))
    return out


def _checkpoints(args, scale: int) -> list:
    """DIDNet's protocol for each --checkpoints NAME=DIR: one method per checkpoint, grouped; and the model with
    their mean weights as a row of its own when --weight-average."""
    from sdr2hdr.bench.methods import checkpoint_methods, model_method

    out = []
    for spec in args.checkpoints or []:
        name, folder = _split_spec(spec)
        if folder is None:
            raise InputError(f"--checkpoints {spec!r}: give NAME=DIR (a registered model and its checkpoints)")
        _check_model(name, scale)
        kw = {"device": args.device, "precision": args.precision, "tile": args.tile, "peak_nits": args.peak_nits}
        out += checkpoint_methods(name, folder, args.last, **kw)
        if args.weight_average:
            m = model_method(name, average=(args.last, folder),
                             label=f"{name} (weights averaged over last {args.last} checkpoints)", **kw)
            m.name, m.note = f"{name}@mean_weights_{args.last}", m.note.replace(name, f"{name}@mean_weights", 1)
            out.append(m)
    return out


def _heldout(args) -> int:
    from sdr2hdr.bench.heldout import run_heldout

    if not args.heldout.is_dir():
        raise InputError(f"no such folder of leave-one-curve-out weights: {args.heldout}")
    weights = args.weights_dir / f"{args.heldout_model}.safetensors" if args.weights_dir else None
    extra = None
    if args.ceilings:
        from sdr2hdr.bench.heldout import _model_fn
        from sdr2hdr.color.level import MIDDLE_GREY
        from sdr2hdr.models.weights import shipped_weights

        w = weights or shipped_weights(args.heldout_model)
        # the converter's default (level by the convention, color.level) and the level the model estimates
        extra = {"default": _model_fn(args.heldout_model, w, args.peak_nits, MIDDLE_GREY),
                 "default_learned_level": _model_fn(args.heldout_model, w, args.peak_nits)}
    result = run_heldout(args.data, args.heldout_model, weights, args.heldout, qps=tuple(args.qps or (27, 37, 42)),
                         max_frames=args.max_frames, peak_nits=args.peak_nits, progress=not args.quiet,
                         extra=extra, ceilings=args.ceilings)
    for qp in result.qps:
        print(f"\nQP {qp}:")
        print(result.table(qp))
    for note in dict.fromkeys(result.notes):
        print(f"note: {note}", file=sys.stderr)
    paths = result.write(args.out)
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0
