"""How close `sdr2hdr calibrate` comes to the per-clip fitted ceiling: leave one clip out, per curve, at QP 37.

    python experiments/calibration_loco.py --data datasets/heldout --qp 37 --out results/calibration.md

For each curve of a held-out set (`sdr2hdr data heldout`), each clip in turn is converted with a calibration
fitted (engine.calibrate.fit, as the command does) on N paired frames of the curve's *other* clips (x265-coded SDR
at the QP, HDR target), N in --frames, the frames spread round-robin over those clips. Its ceiling is the same
family fitted on the clip's own frames. Scores: PSNR on PQ R'G'B' and Delta E ITP against the HDR target, outputs
limited to 1000 cd/m2 as convert writes them, mean over the clip's frames, then over clips; beside them the blind
default (adaptive_itm with its shipped weights, per frame). Note that the set draws each clip's curve parameters
anew (data.heldout), so a calibration from other clips meets a pipeline that is the same curve, not the same grade.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sdr2hdr.bench.scores import score
from sdr2hdr.color import pq_code
from sdr2hdr.data.heldout import CURVES
from sdr2hdr.data.split import load_split
from sdr2hdr.engine.calibrate import Pair, fit
from sdr2hdr.io.atomic import write_text_atomic

METRICS = ("psnr", "delta_e_itp")
PEAK = pq_code(1000.0)


def _scores(fn, frames: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    rows = [score(np.minimum(np.asarray(fn(x), dtype=np.float32), PEAK), y, METRICS) for x, y in frames]
    return tuple(float(np.mean([r[k] for r in rows])) for k in METRICS)


def _training(others: list[list[tuple[np.ndarray, np.ndarray]]], n: int) -> list[Pair]:
    """n paired frames spread round-robin over the other clips (clip k's frames taken from its middle out)."""
    picks, depth = [], 0
    while len(picks) < n and depth < max(len(o) for o in others):
        for k, clip in enumerate(others):
            order = sorted(range(len(clip)), key=lambda i: abs(i - len(clip) // 2))
            if depth < len(order) and len(picks) < n:
                x, y = clip[order[depth]]
                picks.append(Pair(x, y, f"clip {k} frame {order[depth]}"))
        depth += 1
    return picks


def _default(model, frames):
    def fn(x):
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None]
        with torch.no_grad():
            return model(t)[0].permute(1, 2, 0).numpy()
    return _scores(fn, frames)


def _one_grade(clip, curve: str, qp: int) -> list[np.ndarray]:
    """The clip's SDR remade with the curve's parameters drawn once for the whole curve (one pipeline, as a studio
    has), then x265 at the QP as the set's own input is made."""
    from sdr2hdr.color import pq_eotf
    from sdr2hdr.data.degrade import x265_roundtrip
    from sdr2hdr.data.heldout import _sdr, _seed

    nits = np.stack([np.asarray(pq_eotf(f), dtype=np.float32) for f in clip.hdr()])
    sdr, _ = _sdr(nits, curve, np.random.default_rng(_seed("one grade", curve)))
    lq, _ = x265_roundtrip(sdr, qp, preset="medium")
    return [f.astype(np.float32) / 255.0 for f in lq]


def run(data: Path, qp: int, counts: tuple[int, ...], clips_per_curve: int | None,
        one_grade: bool = False) -> tuple[str, dict]:
    from sdr2hdr.models.weights import load_model

    torch.set_num_threads(1)
    model = load_model("adaptive_itm")[0].eval()
    clips = load_split(data, "test")
    table, worst = {}, {}
    for curve in CURVES:
        mine = [c for c in clips if c.degradation == curve]
        if clips_per_curve:  # spread over the sources: the set lists each source's clips together
            mine = mine[::max(1, len(mine) // clips_per_curve)][:clips_per_curve]
        if len(mine) < 2:
            continue
        frames = [list(zip(_one_grade(c, curve, qp) if one_grade else c.lq(qp), c.hdr())) for c in mine]
        rows = {"ceiling": [], "default": [], **{n: [] for n in counts}}
        for k, own in enumerate(frames):
            rows["ceiling"].append(_scores(fit([Pair(x, y, "") for x, y in own]).pixel_fn(), own))
            rows["default"].append(_default(model, own))
            others = frames[:k] + frames[k + 1:]
            for n in counts:
                rows[n].append(_scores(fit(_training(others, n)).pixel_fn(), own))
        table[curve] = {key: tuple(np.mean(v, axis=0)) for key, v in rows.items()}
        gaps = [c[0] - r[0] for c, r in zip(rows["ceiling"], rows[max(counts)])]
        worst[curve] = (float(np.mean(gaps)), float(np.max(gaps)), len(mine))
        print(curve, {k: f"{v[0]:.2f}/{v[1]:.1f}" for k, v in table[curve].items()}, flush=True)
    return _markdown(table, worst, counts, data, qp, one_grade), table


def _markdown(table: dict, worst: dict, counts: tuple[int, ...], data: Path, qp: int, one_grade: bool) -> str:
    n_max = max(counts)
    head = ["curve", "clips", "per-clip fitted ceiling", *[f"calibrated, {n} frame(s)" for n in counts],
            f"gap at {n_max} (mean / worst clip, dB)", "blind default"]
    grade = ("one grade per curve: every clip's SDR remade with the same curve parameters (`--one-grade`)"
             if one_grade else "each clip's own grade, as the set draws it")
    lines = [f"# Calibration leave-one-clip-out on the held-out curves: {grade}", "",
             f"PSNR on PQ R'G'B' (dB) / Delta E ITP, x265 QP {qp}, mean over each clip's frames then over clips. "
             f"Set: `{data.name}` (see the text below for how it was built). Made by "
             f"`python experiments/calibration_loco.py --data {data.name} --qp {qp}"
             f"{' --one-grade' if one_grade else ''}`.", "",
             "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for curve, r in table.items():
        mean_gap, max_gap, n = worst[curve]
        cells = [f"{r['ceiling'][0]:.2f} / {r['ceiling'][1]:.1f}",
                 *[f"{r[c][0]:.2f} / {r[c][1]:.1f}" for c in counts], f"{mean_gap:.2f} / {max_gap:.2f}",
                 f"{r['default'][0]:.2f} / {r['default'][1]:.1f}"]
        lines.append(f"| {curve} | {n} | " + " | ".join(cells) + " |")
    within = all(w[0] <= 2.0 for w in worst.values())
    lines += ["", f"Mean gap to the ceiling within 2 dB on every curve from {n_max} paired frames: "
                  f"{'yes' if within else 'no'}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--frames", type=int, nargs="+", default=[1, 3, 10])
    ap.add_argument("--clips-per-curve", type=int, default=None)
    ap.add_argument("--one-grade", action="store_true",
                    help="remake each clip's SDR with one set of curve parameters per curve (one pipeline)")
    ap.add_argument("--note", default="", help="a paragraph on how the set was built, put under the table")
    ap.add_argument("--out", type=Path, default=Path("results/calibration.md"))
    args = ap.parse_args()
    t = time.perf_counter()
    text, _ = run(args.data, args.qp, tuple(args.frames), args.clips_per_curve, args.one_grade)
    text += f"\n{args.note}\n" if args.note else ""
    text += f"\nRun time {time.perf_counter() - t:.0f} s.\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
