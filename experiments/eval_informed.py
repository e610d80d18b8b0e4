"""Informed mode against the exact inverse, on the held-out-curve set's clips of each curve, per QP.

    python experiments/eval_informed.py --data datasets/heldout \
        --weights bt2446a=runs/informed_bt2446a/weights.safetensors \
        bt2446c=runs/informed_bt2446c/weights.safetensors --out results/heldout/informed.md

Writes a markdown table (PSNR and Delta E ITP of both, the gain, the Delta E ITP ratio, flicker) and prints it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sdr2hdr.bench.heldout import run_informed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--weights", nargs="+", required=True, metavar="CURVE=FILE")
    ap.add_argument("--qps", nargs="+", type=int, default=[27, 37, 42])
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    weights = {}
    for item in args.weights:
        curve, _, path = item.partition("=")
        weights[curve] = Path(path) if path else None
    table = run_informed(args.data, weights, qps=tuple(args.qps), max_frames=args.max_frames)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Informed mode (--source-tmo) against the exact inverse\n\n" + table + "\n")
    print(table)


if __name__ == "__main__":
    main()
