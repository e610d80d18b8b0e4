"""Leave-one-curve-out training: one adaptive_itm per standard curve, trained on the pool without that curve.

    python experiments/train_loco.py --pool datasets/generated --out runs/loco [--steps 2500] [--curves hable ...]

Each run lands in OUT/<curve>/ (weights, card, log, checkpoint; an interrupted run continues where it stopped)
and its weights are copied to OUT/<curve>.safetensors, the layout `sdr2hdr benchmark --heldout` reads.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from sdr2hdr.data.generator import STANDARD_FAMILIES
from sdr2hdr.train.adaptive import train_adaptive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--curves", nargs="+", default=list(STANDARD_FAMILIES), choices=STANDARD_FAMILIES)
    args = ap.parse_args()
    for curve in args.curves:
        final = args.out / f"{curve}.safetensors"
        if final.exists():
            print(f"{curve}: done already")
            continue
        run = train_adaptive(args.pool, args.out / curve, steps=args.steps, batch=args.batch, exclude=(curve,),
                             resume=True)
        shutil.copyfile(run / "weights.safetensors", final)


if __name__ == "__main__":
    main()
