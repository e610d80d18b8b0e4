"""Ship adaptive_itm or informed-mode weights: copy a run's weights into the package and write their card.

    python -m sdr2hdr.tools.ship_adaptive runs/adaptive_full --heldout results/heldout/heldout.csv --qp 37
    python -m sdr2hdr.tools.ship_adaptive runs/informed_bt2446a --informed results/heldout/informed.md

The card (src/sdr2hdr/weights/<name>.json) joins the run's own card (steps, wall time, data recipe, what was left
out) with the held-out-curve figures of `sdr2hdr benchmark --heldout` at --qp (mean over the held-out curves,
against the best fixed classical mapping), and the weights' sha256 (models.weights.ship). adaptive_itm becomes
the converter's default
(and any other card loses the mark) when its held-out mean beats the best fixed classical mapping. Nothing in a
card is typed by hand.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError
from sdr2hdr.models.weights import read_card, ship, shipped_card, weights_dir, write_card
from sdr2hdr.tools import exit_status

MAX_BYTES = 20 * 1024 * 1024


def _heldout(csv_path: Path, qp: int) -> dict:
    with open(csv_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["qp"]) == qp]
    curves = sorted({r["curve"] for r in rows})

    def mean(method, key):
        per = [np.mean([float(r[key]) for r in rows if r["method"] == method and r["curve"] == c]) for c in curves
               if any(r["method"] == method and r["curve"] == c for r in rows)]
        return float(np.mean(per))

    out = {m: {"psnr": round(mean(m, "psnr"), 3), "delta_e_itp": round(mean(m, "delta_e_itp"), 3)}
           for m in sorted({r["method"] for r in rows})}
    fixed = max((m for m in out if m != "learned"), key=lambda m: out[m]["psnr"])
    return {"qp": qp, "curves": curves, "scores": out, "best_fixed_classical": fixed,
            "beats_best_fixed": out["learned"]["psnr"] > out[fixed]["psnr"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a train-adaptive or train-informed output folder")
    ap.add_argument("--heldout", type=Path, default=None, help="heldout.csv of `sdr2hdr benchmark --heldout`")
    ap.add_argument("--informed", type=Path, default=None, help="informed.md of experiments/eval_informed.py")
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--tag", default=None, help="the training's tag (default: s<steps>)")
    args = ap.parse_args(argv)
    src = args.run / "weights.safetensors"
    run = read_card(src)
    name = run["model"]
    if src.stat().st_size > MAX_BYTES:
        raise InputError(f"{src} is over 20 MB")
    card = {"model": name, "training": run}
    summary = (f"{run['steps']} steps, batch {run.get('batch')}, {run['wall_seconds'] / 60:.0f} min on "
               f"{run.get('machine', 'a CPU')}")
    if args.heldout:
        h = _heldout(args.heldout, args.qp)
        card["heldout_curves"] = h
        s, f = h["scores"]["learned"], h["scores"][h["best_fixed_classical"]]
        summary += (f"; held-out curves at QP {args.qp} (mean of {len(h['curves'])}): PSNR {s['psnr']:.2f} dB, "
                    f"Delta E ITP {s['delta_e_itp']:.1f} against the best fixed classical mapping "
                    f"({h['best_fixed_classical']}) {f['psnr']:.2f} dB, {f['delta_e_itp']:.1f}")
        card["default"] = name == "adaptive_itm" and h["beats_best_fixed"]
        if card["default"]:
            for other in sorted(weights_dir().glob("*.safetensors")):
                c = shipped_card(other.stem)
                if c is not None and c.get("default") and c.get("model") != name:
                    c["default"] = False
                    write_card(other, c)
    if args.informed:
        card["informed_table"] = args.informed.read_text().strip().splitlines()
    card["summary"] = summary
    ship(src, name, card, tag=args.tag or f"s{run['steps']}")
    print(f"shipped {name}.{card['tag']}: {summary}")


if __name__ == "__main__":
    sys.exit(exit_status(main, "ship_adaptive"))
