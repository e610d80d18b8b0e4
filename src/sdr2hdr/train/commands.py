"""`sdr2hdr train CONFIG`: the command line of the training loop (register(sub) adds it to the CLI)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sdr2hdr.argtypes import positive_int
from sdr2hdr.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "train", help="train a registered model from a YAML config (paper recipe or a CPU preset)",
        description="Train a model from configs/<model>.yaml: the paper's recipe (preset `paper`, the default) or a "
                    "preset sized for this machine (`cpu-smoke`: seconds; `cpu-small`: about an hour on 2 cores). "
                    "Writes checkpoints, log.csv and weights/{last,best,averaged}.safetensors with JSON cards. "
                    "Several GPUs or machines: torchrun --nproc_per_node N -m sdr2hdr.cli train CONFIG --ddp.")
    p.add_argument("config", type=Path, help="a YAML config, e.g. configs/kpnet.yaml")
    p.add_argument("--preset", default=None, help="a preset of the config (default: paper)")
    p.add_argument("--max-steps", type=positive_int, default=None,
                   help="stop at this global step (the schedule still follows the config; continue with --resume)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--out", type=Path, default=None, help="output folder (default runs/<config>-<preset>)")
    p.add_argument("--data", type=Path, default=None, help="the data set folder (overrides data.root)")
    p.add_argument("--ddp", action="store_true",
                   help="distributed data parallel under torchrun (gloo on CPU, nccl on CUDA)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads per process (default: torch's choice; 1 is faster when other jobs share "
                        "the cores)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.batch=8 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    p.set_defaults(func=cmd_train)

    a = sub.add_parser("train-adaptive", help="train adaptive_itm on a generated pool (optionally leaving curves out)",
                       description="Train the default converter's model on `sdr2hdr data generate`'s pool: the "
                                   "estimator sees whole crops, the loss samples pixels. --exclude leaves a curve "
                                   "family out (the held-out-curve protocol).")
    a.add_argument("pool", type=Path)
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--model", default="adaptive_itm", choices=("adaptive_itm", "adaptive_itm_local"))
    a.add_argument("--init", type=Path, default=None, help="start from these weights (the local branch trains "
                                                           "on top of a trained global path)")
    a.add_argument("--steps", type=positive_int, default=4000)
    a.add_argument("--batch", type=positive_int, default=24)
    a.add_argument("--exclude", nargs="*", default=[], metavar="FAMILY")
    a.add_argument("--resume", action="store_true")
    a.set_defaults(func=cmd_train_adaptive)

    i = sub.add_parser("train-informed", help="train informed mode's restoration for one known source curve",
                       description="The exact inverse of CURVE plus a restoration CNN, trained on the built set's "
                                   "training clips made with that curve (QPs 27-47).")
    i.add_argument("curve")
    i.add_argument("--data", type=Path, required=True)
    i.add_argument("--out", type=Path, required=True)
    i.add_argument("--steps", type=positive_int, default=2500)
    i.add_argument("--batch", type=positive_int, default=12)
    i.add_argument("--lr", type=float, default=5e-4)
    i.add_argument("--init", type=Path, default=None, help="start from these informed_<CURVE> weights")
    i.add_argument("--resume", action="store_true")
    i.set_defaults(func=cmd_train_informed)


def cmd_train(args: argparse.Namespace) -> int:
    from .config import DEFAULT_PRESET, load_config
    from .trainer import Trainer

    # --data names a built set, so it also means "train on it" when a preset (cpu-smoke) defaults to generated pairs
    overrides = (["data.source=dataset"] if args.data else []) + list(args.overrides)
    # everything in the config, presets included, is checked before any model or data is touched
    cfg = load_config(args.config, args.preset, overrides)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    preset = args.preset or DEFAULT_PRESET
    out = args.out or Path("runs") / f"{args.config.stem}-{preset}"
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    result = Trainer(cfg, out, data_root=str(args.data) if args.data else None, resume=args.resume,
                     max_steps=args.max_steps, ddp=args.ddp, progress=not args.quiet,
                     config_file=str(args.config), preset=preset).run()
    if not args.ddp or int(os.environ.get("RANK", "0")) == 0:
        last = f"{result.losses[-1]:.5g}" if result.losses else "n/a"
        val = f", validation PSNR {result.val_psnr:.2f} dB" if result.val_psnr is not None else ""
        print(f"trained {cfg.model.name} to step {result.step} (last loss {last}{val}); "
              f"weights: {', '.join(str(p) for p in result.exported.values())}")
    return 0


def cmd_train_adaptive(args: argparse.Namespace) -> int:
    from .adaptive import train_adaptive

    if not args.pool.is_dir():
        raise InputError(f"no such pool folder: {args.pool} (make one with `sdr2hdr data generate`)")
    train_adaptive(args.pool, args.out, model_name=args.model, steps=args.steps, batch=args.batch,
                   exclude=tuple(args.exclude), resume=args.resume, init=args.init)
    return 0


def cmd_train_informed(args: argparse.Namespace) -> int:
    from sdr2hdr.tonemap.source_inverse import SOURCE_TMOS

    from .informed import train_informed

    if args.curve not in SOURCE_TMOS:
        raise InputError(f"unknown curve {args.curve!r}; choose one of {', '.join(SOURCE_TMOS)}")
    if args.init is not None and not args.init.is_file():
        raise InputError(f"no such weights file: {args.init}")
    train_informed(args.data, args.curve, args.out, steps=args.steps, batch=args.batch, lr=args.lr,
                   resume=args.resume, init=args.init)
    return 0
