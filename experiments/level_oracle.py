"""How much of the default's held-out gap is its level: the same outputs with the exposure an oracle would set.

    python experiments/level_oracle.py --data datasets/heldout --loco runs/gloco --out results/heldout/level_oracle.md

For each curve of the held-out set, the default (`adaptive_itm`, or the leave-one-curve-out weights LOCO/CURVE
.safetensors for a curve left out of training) maps the x265-coded SDR; each output is then scaled in light by one
factor, chosen with the target in hand three ways: per frame (median luminance onto the target's), per clip (the
geometric mean of its frames' factors) and per curve (the geometric mean over the curve's clips). Scaling is what
`convert --exposure` does, so the per-clip column is what a user who sets the right trim for each clip would get.
Writes a markdown table (PSNR on PQ R'G'B' / Delta E ITP) and the spread of the right per-clip trims in stops.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sdr2hdr.bench.scores import score
from sdr2hdr.color import luminance, pq_eotf, pq_inverse_eotf, pq_trim
from sdr2hdr.data.heldout import CURVES, HELDOUT_CURVES
from sdr2hdr.data.split import load_split
from sdr2hdr.models.weights import load_model

METRICS = ("psnr", "delta_e_itp")


def _model(curve: str, loco: Path | None):
    path = loco / f"{curve}.safetensors" if loco is not None else None
    model, _ = load_model("adaptive_itm", path if path is not None and path.exists() else None)
    return model.eval()


def _mean(rows: list[dict]) -> tuple[float, float]:
    return tuple(float(np.mean([r[k] for r in rows])) for k in METRICS)


def _stops(out: np.ndarray, target: np.ndarray) -> float:
    """log2 of the factor that puts the output's median luminance on the target's."""
    med = [float(np.median(luminance(np.asarray(pq_eotf(x), dtype=np.float64)))) for x in (out, target)]
    return float(np.log2(max(med[1], 1e-3) / max(med[0], 1e-3)))


def _scored(got: list, peak: float, trims: list[list[float]]) -> tuple[float, float]:
    """Mean scores of every clip's outputs, each scaled by its trim (stops) and limited to the peak."""
    rows = [score(np.clip(pq_trim(y, trim), 0.0, peak), t, METRICS)
            for per, clip_trims in zip(got, trims) for (y, t, _), trim in zip(per, clip_trims)]
    return _mean(rows)


def run(data: Path, loco: Path | None, qp: int, frames: tuple[int, ...]) -> str:
    torch.set_num_threads(1)
    clips = load_split(data, "test")
    peak = float(pq_inverse_eotf(np.array([1000.0]))[0])
    lines = ["| curve | as estimated | right trim per frame | right trim per clip | one trim for the curve (stops) |",
             "|---|---:|---:|---:|---:|"]
    means, clip_trims = [], []
    for curve in CURVES:
        model = _model(curve, loco)
        got = []  # per clip: [(output, target, right stops)]
        for clip in (c for c in clips if c.degradation == curve):
            hdr, lq = clip.hdr(), clip.lq(qp)
            per = []
            for i in (f for f in frames if f < len(lq)):
                x = torch.from_numpy(lq[i].astype(np.float32)).permute(2, 0, 1)[None]
                with torch.no_grad():
                    y = np.clip(model(x)[0].permute(1, 2, 0).numpy(), 0.0, peak)
                per.append((y, hdr[i], _stops(y, hdr[i])))
            got.append(per)
        if not got:
            continue

        per_clip = [float(np.mean([s for _, _, s in per])) for per in got]
        clip_trims += per_clip
        whole = float(np.mean(per_clip))
        cols = [_scored(got, peak, [[0.0] * len(per) for per in got]),
                _scored(got, peak, [[s for _, _, s in per] for per in got]),
                _scored(got, peak, [[c] * len(per) for per, c in zip(got, per_clip)]),
                _scored(got, peak, [[whole] * len(per) for per in got])]
        means.append(cols)
        if curve in HELDOUT_CURVES:
            left = " (never trained)"
        elif loco is not None and (loco / f"{curve}.safetensors").exists():
            left = " (left out)"
        else:
            left = " (in training)"
        lines.append(f"| {curve}{left} | " + " | ".join(f"{p:.2f} / {d:.1f}" for p, d in cols[:3])
                     + f" | {cols[3][0]:.2f} / {cols[3][1]:.1f} ({whole:+.2f}) |")
    m = np.mean(np.array(means), axis=0)
    lines.append("| **mean** | " + " | ".join(f"{p:.2f} / {d:.1f}" for p, d in m) + " |")
    q = np.percentile(clip_trims, [5, 25, 50, 75, 95])
    lines.append("")
    lines.append(f"Right trim per clip over all {len(clip_trims)} clips, stops: 5th / 25th / 50th / 75th / 95th "
                 f"percentile {' / '.join(f'{v:+.2f}' for v in q)}; mean size {np.mean(np.abs(clip_trims)):.2f}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a held-out-curve set (sdr2hdr data heldout)")
    ap.add_argument("--loco", type=Path, default=None, help="leave-one-curve-out weights, CURVE.safetensors")
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--frames", type=int, nargs="+", default=[0, 3], help="frame indices scored per clip")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    table = run(args.data, args.loco, args.qp, tuple(args.frames))
    text = (f"# The default's level: held-out curves at QP {args.qp} with an oracle's exposure trim\n\n"
            f"PSNR on PQ R'G'B' / Delta E ITP; frames {', '.join(map(str, args.frames))} of each clip. Made by "
            f"`python experiments/level_oracle.py --data {args.data} --loco {args.loco} --qp {args.qp}`.\n\n"
            + table + "\n")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
