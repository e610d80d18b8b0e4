"""Ship trained weights: copy a run's weights into the package and write their card from the benchmark's results.

    python -m sdr2hdr.tools.ship_weights --bench benchmark/summary.csv --qp 37 runs/kpnet-cpu-small:best ...

Each RUN:KIND names a training output folder and which of its exported weights to ship (best, last, averaged);
a bare NAME re-scores weights already shipped (their training record is kept, the test figures are replaced).
The card (src/sdr2hdr/weights/<name>.json) joins the trainer's own card (recipe, steps, validation) with the test-
split figures of `sdr2hdr benchmark` for that model and for the best classical mapping at the same QP. It never makes
a model the converter's default: that is the held-out-curve protocol's winner, shipped by ship_adaptive.py.
Nothing in a card is typed by hand.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from sdr2hdr.errors import InputError
from sdr2hdr.models.weights import card_summary, read_card, ship, shipped_card, shipped_weights, weights_dir
from sdr2hdr.tools import exit_status

MAX_BYTES = 20 * 1024 * 1024


def _rows(summary: Path) -> list[dict]:
    with open(summary, newline="") as f:
        return list(csv.DictReader(f))


def _score(rows: list[dict], method: str, qp: str, degradation: str = "all") -> dict | None:
    for r in rows:
        if r["method"] == method and r["qp"] == qp and r["degradation"] == degradation:
            return {k: float(v) for k, v in r.items() if k in ("psnr", "ssim", "ms_ssim", "delta_e_itp") and v}
    return None


def _training_head(card: dict) -> str:
    """The part of a shipped card's summary about training, without its test figures."""
    return card["summary"].split("; test split", 1)[0]


def _from_run(spec: str) -> tuple[str, Path, str, dict]:
    """RUN_DIR:KIND -> (name, weights file, training summary, training record) from the trainer's card."""
    run, kind = spec.rsplit(":", 1)
    src = Path(run) / "weights" / f"{kind}.safetensors"
    train_card = read_card(src)
    name = train_card["name"]
    head = card_summary(train_card)
    training = {k: train_card.get(k) for k in ("kind", "steps", "val", "data", "preset", "config_file",
                                               "train_seconds", "device", "paper_recipe")}
    init = ((train_card.get("config") or {}).get("model") or {}).get("init_weights")
    training["init_weights"] = init
    shipped_now = shipped_weights(name)
    if init and shipped_now is not None and Path(init).resolve() == shipped_now.resolve():
        # The run continued from the weights it replaces: keep their record, or it would be lost.
        prev = shipped_card(name)
        prev_head = _training_head(prev)
        head = head.replace(f"initialised from {init}", f"continued from the weights shipped before, {prev_head}")
        training["init_weights"] = {"path": init, "summary": prev_head, "training": prev["training"]}
    return name, src, head, training


def _card(name: str, head: str, training: dict, rows: list[dict], qp: str, bench: Path,
          best_classical: str, ref: dict, row: str | None = None) -> dict:
    """The shipped card: the training record and the benchmark's test-split figures beside the best classical."""
    row = row or name  # the benchmark's method name for these weights (e.g. didnet@mean_weights_6)
    scores = {q: _score(rows, row, q) for q in sorted({r["qp"] for r in rows if r["method"] == row})}
    if not scores.get(qp):
        raise InputError(f"{name} has no benchmark row at QP {qp} in {bench}")
    s = scores[qp]
    where = "uncoded input" if qp == "uncoded" else f"QP {qp}"
    return {
        "model": name,
        "summary": (f"{head}; test split {where}: PSNR {s['psnr']:.2f} dB, Delta E ITP "
                    f"{s['delta_e_itp']:.2f} (best classical, {best_classical}: {ref['psnr']:.2f} dB, "
                    f"{ref['delta_e_itp']:.2f})"),
        "training": training,
        "test_scores": scores,
        "best_classical": {"method": best_classical, "qp": qp, **ref},
        "beats_best_classical": s["psnr"] > ref["psnr"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="RUN_DIR:KIND (e.g. runs/kpnet-cpu-small:best) or a shipped NAME")
    ap.add_argument("--bench", type=Path, required=True, help="summary.csv of `sdr2hdr benchmark`")
    ap.add_argument("--qp", default="37", help="the QP column of the benchmark to card (uncoded: the SR-ITM task's "
                    "uncoded input)")
    ap.add_argument("--tag", default=None,
                    help="the tag of these trainings (default: <preset>_s<steps> from each run's card)")
    ap.add_argument("--row", action="append", default=[], metavar="NAME=METHOD",
                    help="card NAME from the benchmark's row METHOD (e.g. didnet=didnet@mean_weights_6)")
    args = ap.parse_args(argv)
    rows_of = dict(r.split("=", 1) for r in args.row)
    rows = _rows(args.bench)
    classical = {r["method"] for r in rows if r["kind"] == "classical"}
    best_classical = max(classical, key=lambda m: (_score(rows, m, args.qp) or {"psnr": -1})["psnr"])
    ref = _score(rows, best_classical, args.qp)
    weights_dir().mkdir(parents=True, exist_ok=True)
    shipped, tags = {}, {}
    for spec in args.runs:
        if ":" in spec:
            name, src, head, training = _from_run(spec)
        else:
            name, src = spec, None
            old = shipped_card(name)
            if old is None:
                raise InputError(f"no shipped weights named {name} (and {spec} is not RUN_DIR:KIND)")
            head, training = _training_head(old), old["training"]
            tags[name] = old.get("tag")
        if src is not None and src.stat().st_size > MAX_BYTES:
            raise InputError(f"{src} is over 20 MB")
        shipped[name] = (src, _card(name, head, training, rows, args.qp, args.bench, best_classical, ref,
                                    rows_of.get(name)))
    for name, (src, card) in shipped.items():
        # in-distribution scores do not choose the converter's default (issue 12): the held-out protocol does
        card["default"] = False
        run = card["training"]
        tag = args.tag or tags.get(name) or f"{run.get('preset') or 'custom'}_s{run.get('steps')}"
        ship(src, name, card, tag=tag.replace("-", "_"))
        print(f"shipped {name}.{card['tag']}: {card['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "ship_weights"))
