"""`sdr2hdr evaluate` and `sdr2hdr benchmark`: score models and classical mappings on a built data set's test split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sdr2hdr.argtypes import positive_int
from sdr2hdr.errors import InputError

CLASSICAL = ("bt2408", "bt2446a", "bt2446c")
EXTRA_METRICS = ("mpsnr", "vifp", "haarpsi", "vsi")


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
                   help="registered models (default: every one with weights); none: classical only")
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
    _common(p)
    p.set_defaults(func=cmd_benchmark)


def _metrics(args) -> list[str]:
    from sdr2hdr.bench.scores import DEFAULT_METRICS, check_metrics

    names = list(args.metrics or DEFAULT_METRICS)
    if args.all_metrics:
        names += EXTRA_METRICS
    if args.cvvdp:
        names.append("cvvdp")
    return check_metrics(names)


def _run(args, methods, notes, qps, out: Path | None) -> int:
    from sdr2hdr.bench.dataset import load_split
    from sdr2hdr.bench.report import Summary, by_degradation_table, table1, write_all
    from sdr2hdr.bench.run import run_benchmark
    from sdr2hdr.engine.infer import pick_device

    clips = load_split(args.data, args.split)
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out is a file, not a folder: {out}")
    device = pick_device(args.device)
    result = run_benchmark(clips, methods, qps, _metrics(args), max_frames=args.max_frames,
                           report_frames=args.report_frames, progress=not args.quiet, split=args.split,
                           data_dir=str(args.data), device=str(device), notes=notes)
    s = Summary(result)
    print(table1(s).markdown())
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
    from sdr2hdr.bench.dataset import find_manifest
    from sdr2hdr.bench.methods import classical_method, is_classical, model_method

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
    from sdr2hdr.bench.dataset import find_manifest
    from sdr2hdr.bench.methods import classical_method, model_method
    from sdr2hdr.models import list_models
    from sdr2hdr.models.weights import shipped_weights

    _check_common(args)
    find_manifest(args.data)
    if args.weights_dir is not None and not args.weights_dir.is_dir():
        raise InputError(f"no such weights folder: {args.weights_dir}")
    if args.heldout is not None:
        return _heldout(args)
    registered = list_models()
    names = registered if args.models is None else list(dict.fromkeys(args.models))
    unknown = [n for n in names if n not in registered]
    if unknown:
        raise InputError(f"unknown model {unknown[0]!r}; registered: {', '.join(registered)}")
    # classical rows first, as the papers list the previous methods before their own
    methods = [classical_method(m, args.peak_nits) for m in dict.fromkeys(args.methods)]
    notes, no_weights = [], []
    for name in names:
        weights = (args.weights_dir / f"{name}.safetensors") if args.weights_dir else shipped_weights(name)
        if weights is None or not Path(weights).is_file():
            no_weights.append(name)
            continue
        methods.append(model_method(name, weights, device=args.device, precision=args.precision, tile=args.tile,
                                    peak_nits=args.peak_nits))
    if no_weights:
        where = f"in {args.weights_dir}" if args.weights_dir else "shipped"
        notes.append(f"no weights {where} for {', '.join(no_weights)}: not benchmarked")
    return _run(args, methods, notes, args.qps, args.out)


def _heldout(args) -> int:
    from sdr2hdr.bench.heldout import run_heldout

    if not args.heldout.is_dir():
        raise InputError(f"no such folder of leave-one-curve-out weights: {args.heldout}")
    weights = args.weights_dir / f"{args.heldout_model}.safetensors" if args.weights_dir else None
    result = run_heldout(args.data, args.heldout_model, weights, args.heldout, qps=tuple(args.qps or (27, 37, 42)),
                         max_frames=args.max_frames, peak_nits=args.peak_nits, progress=not args.quiet)
    for qp in result.qps:
        print(f"\nQP {qp}:")
        print(result.table(qp))
    for note in dict.fromkeys(result.notes):
        print(f"note: {note}", file=sys.stderr)
    paths = result.write(args.out)
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0
