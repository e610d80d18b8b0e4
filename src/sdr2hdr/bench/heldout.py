"""The held-out-curve protocol: quality on curves a model never trained on, against every classical mapping.

For each curve of the held-out set (data.heldout): a standard curve is scored with the model trained without it
(leave-one-curve-out, `<loco_dir>/<curve>.safetensors`); a curve no training set contains (aces, log_shoulder) is
scored with the default weights. Every clip comes from a source never trained on. Beside it: each classical
mapping, the best classical mapping for that very curve (what an oracle picking the right inverse would get), and
the best fixed classical mapping (the one with the best mean over all curves: what a user who does not know how
the SDR was made would pick). Also per curve: median output luminance over the target's (grading mismatch) and
flicker on the moving clips (frame-to-frame change of mean and 99th-percentile PQ, against the target's).

- run_heldout(data_dir, model, default_weights, loco_dir, qps, ...) -> HeldoutResult (rows per clip, frame, QP)
- HeldoutResult.table(qp) -> markdown; .write(out) -> heldout.csv, heldout.md, plots/heldout_psnr.png
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdr2hdr.bench.methods import CLASSICAL_LABELS, classical_method
from sdr2hdr.bench.run import pick_frames
from sdr2hdr.bench.scores import score
from sdr2hdr.data.split import TestClip
from sdr2hdr.errors import InputError

__all__ = ["run_heldout", "HeldoutResult", "flicker"]

CLASSICAL = ("bt2408", "bt2446a", "bt2446c")
LEARNED = "learned"  # the row of the held-out model (LOCO weights or the default on unseen curves)


def _lum_nits(pq: np.ndarray) -> np.ndarray:
    from sdr2hdr.color import pq_eotf

    lin = np.asarray(pq_eotf(np.clip(pq, 0, 1)), dtype=np.float32)
    return lin @ np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)


def flicker(outputs: list[np.ndarray], targets: list[np.ndarray]) -> tuple[float, float]:
    """Mean |frame-to-frame change of (mean PQ, p99 PQ) of the output minus the target's|, in 10-bit codes."""
    def stats(frames):
        return np.array([[f.mean(), np.percentile(f.max(-1), 99)] for f in frames])

    d = np.abs(np.diff(stats(outputs), axis=0) - np.diff(stats(targets), axis=0)) * 1023.0
    return float(d[:, 0].mean()), float(d[:, 1].mean())


@dataclass
class HeldoutResult:
    rows: list[dict]
    qps: list[int]
    curves: list[str]
    unseen: list[str]
    notes: list[str] = field(default_factory=list)

    def _mean(self, method: str, curve: str | None, qp: int, key: str) -> float:
        v = [r[key] for r in self.rows if r["method"] == method and r["qp"] == qp and
             (curve is None or r["curve"] == curve) and r.get(key) is not None]
        return float(np.mean(v)) if v else float("nan")

    def methods(self) -> list[str]:
        return list(dict.fromkeys(r["method"] for r in self.rows))

    def best_fixed(self, qp: int) -> str:
        """The classical mapping with the best mean PSNR over curves (each curve weighted equally)."""
        return max(CLASSICAL, key=lambda m: np.mean([self._mean(m, c, qp, "psnr") for c in self.curves]))

    def summary(self, qp: int) -> list[dict]:
        """One row per curve and a mean row: every method's PSNR and Delta E ITP, best classical, gaps."""
        out = []
        fixed = self.best_fixed(qp)
        # the mean row covers the curves the model is held out on (a curve without LOCO weights has no model row)
        held = [c for c in self.curves if any(r["method"] == LEARNED and r["curve"] == c for r in self.rows)]
        for curve in self.curves + ["mean"]:
            cs = (held or self.curves) if curve == "mean" else [curve]
            row = {"curve": curve}
            for m in self.methods():
                row[f"{m}_psnr"] = float(np.mean([self._mean(m, c, qp, "psnr") for c in cs]))
                row[f"{m}_de"] = float(np.mean([self._mean(m, c, qp, "delta_e_itp") for c in cs]))
            best_per = [max(CLASSICAL, key=lambda m: self._mean(m, c, qp, "psnr")) for c in cs]
            row["best_classical"] = best_per[0] if curve != "mean" else "per curve"
            row["best_classical_psnr"] = float(np.mean([self._mean(b, c, qp, "psnr") for b, c in zip(best_per, cs)]))
            row["best_classical_de"] = float(np.mean([self._mean(b, c, qp, "delta_e_itp")
                                                      for b, c in zip(best_per, cs)]))
            row["fixed"] = fixed
            row["gap_to_best"] = row[f"{LEARNED}_psnr"] - row["best_classical_psnr"]
            row["gap_to_fixed"] = row[f"{LEARNED}_psnr"] - row[f"{fixed}_psnr"]
            row["de_ratio_fixed"] = row[f"{LEARNED}_de"] / row[f"{fixed}_de"]
            for m in self.methods():
                row[f"{m}_lum_ratio"] = float(np.exp(np.mean([self._mean(m, c, qp, "log_lum_ratio") for c in cs])))
                row[f"{m}_flicker"] = float(np.mean([self._mean(m, c, qp, "flicker_mean") for c in cs]))
            out.append(row)
        return out

    def table(self, qp: int) -> str:
        rows = self.summary(qp)
        ms = self.methods()
        label = {m: CLASSICAL_LABELS.get(m, m) for m in ms}
        label[LEARNED] = "held-out model"
        head = ["curve"] + [f"{label[m]} PSNR / ΔE ITP" for m in ms] + \
            ["best classical for the curve", "gap to it (dB)", f"gap to best fixed ({label[rows[0]['fixed']]}) (dB)",
             "ΔE ITP / fixed's", "median lum / target (model)", "flicker (model / fixed), codes"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            name = r["curve"] + (" (unseen)" if r["curve"] in self.unseen else " (left out)" if r["curve"] != "mean"
                                 else " of held-out curves")
            cells = [name] + [f"{r[f'{m}_psnr']:.2f} / {r[f'{m}_de']:.1f}" for m in ms]
            best = CLASSICAL_LABELS.get(r["best_classical"], r["best_classical"])
            cells += [f"{best} {r['best_classical_psnr']:.2f}",
                      f"{r['gap_to_best']:+.2f}", f"{r['gap_to_fixed']:+.2f}", f"{r['de_ratio_fixed']:.2f}",
                      f"{r[f'{LEARNED}_lum_ratio']:.2f}",
                      f"{r[f'{LEARNED}_flicker']:.2f} / {r[r['fixed'] + '_flicker']:.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def subject(self) -> str:
        """The row the gaps of the shape table are for: the default weights on every curve where scored, else the
        held-out model."""
        return "default" if "default" in self.methods() else LEARNED

    def _pool(self, method: str, curves: list[str], qp: int, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.rows if r["method"] == method and r["qp"] == qp and
                         r["curve"] in curves and r.get(key) is not None], dtype=np.float64)

    def shape_summary(self, qp: int) -> list[dict]:
        """Per curve and over all curves: each method's level-aligned PSNR and ΔE ITP, its level error in stops
        (median, 5th and 95th percentile over frames); the best fixed classical mapping by aligned PSNR."""
        ms = self.methods()
        fixed = max(CLASSICAL, key=lambda m: np.mean([self._mean(m, c, qp, "psnr_aligned") for c in self.curves]))
        out = []
        for curve in self.curves + ["mean"]:
            cs = self.curves if curve == "mean" else [curve]
            row = {"curve": curve, "fixed": fixed}
            for m in ms:
                row[f"{m}_psnr_aligned"] = float(np.mean([self._mean(m, c, qp, "psnr_aligned") for c in cs]))
                row[f"{m}_de_aligned"] = float(np.mean([self._mean(m, c, qp, "delta_e_itp_aligned") for c in cs]))
                lv = self._pool(m, cs, qp, "level_stops")
                row[f"{m}_level"] = tuple(np.percentile(lv, [50, 5, 95])) if lv.size else (np.nan,) * 3
            sub = self.subject()
            row["gap_aligned"] = row[f"{sub}_psnr_aligned"] - row[f"{fixed}_psnr_aligned"]
            row["de_ratio_aligned"] = row[f"{sub}_de_aligned"] / row[f"{fixed}_de_aligned"]
            out.append(row)
        return out

    def shape_table(self, qp: int) -> str:
        """Markdown: level-aligned PSNR / ΔE ITP of every method (ceilings included), gaps, level errors."""
        rows = self.shape_summary(qp)
        sub, fixed = self.subject(), rows[0]["fixed"]
        # beside the default on every curve, the held-out model's column (LOCO weights, often missing) is left out
        ms = [m for m in self.methods() if not (sub == "default" and m == LEARNED)]
        label = {m: CLASSICAL_LABELS.get(m, m) for m in ms}
        label[LEARNED] = "held-out model"
        head = (["curve"] + [f"{label[m]} aligned PSNR / ΔE ITP" for m in ms] +
                [f"{label[sub]} gap to best fixed aligned ({label[fixed]}) (dB)", "ΔE ITP / fixed's (aligned)"] +
                [f"{label[m]} level error, stops: median [5 %, 95 %]" for m in ms if not m.startswith("ceiling")])
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            name = "mean of all curves" if r["curve"] == "mean" else \
                r["curve"] + (" (unseen)" if r["curve"] in self.unseen else "")
            cells = [name] + [f"{r[f'{m}_psnr_aligned']:.2f} / {r[f'{m}_de_aligned']:.1f}" for m in ms]
            cells += [f"{r['gap_aligned']:+.2f}", f"{r['de_ratio_aligned']:.2f}"]
            cells += ["{:+.2f} [{:+.2f}, {:+.2f}]".format(*r[f"{m}_level"]) for m in ms if not m.startswith("ceiling")]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def as_is_table(self, qp: int) -> str:
        """Markdown: every method as is (PSNR / ΔE ITP) per curve and over all curves, the subject's gap to the best
        fixed classical mapping and its ΔE ITP ratio: what users get, with every curve counted."""
        sub = self.subject()
        ms = [m for m in self.methods() if not (sub == "default" and m == LEARNED)]
        fixed = max(CLASSICAL, key=lambda m: np.mean([self._mean(m, c, qp, "psnr") for c in self.curves]))
        label = {m: CLASSICAL_LABELS.get(m, m) for m in ms}
        head = (["curve"] + [f"{label[m]} PSNR / ΔE ITP" for m in ms] +
                [f"{label.get(sub, sub)} gap to best fixed ({label[fixed]}) (dB)", "ΔE ITP / fixed's"])
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for curve in self.curves + ["mean"]:
            cs = self.curves if curve == "mean" else [curve]
            val = {m: (np.mean([self._mean(m, c, qp, "psnr") for c in cs]),
                       np.mean([self._mean(m, c, qp, "delta_e_itp") for c in cs])) for m in ms}
            name = "mean of all curves" if curve == "mean" else curve + (" (unseen)" if curve in self.unseen else "")
            cells = [name] + [f"{val[m][0]:.2f} / {val[m][1]:.1f}" for m in ms]
            cells += [f"{val[sub][0] - val[fixed][0]:+.2f}", f"{val[sub][1] / val[fixed][1]:.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    @classmethod
    def from_csv(cls, path: str | Path, unseen: Sequence[str]) -> HeldoutResult:
        """A result back from its heldout.csv (numbers parsed), to rewrite its tables."""
        rows = []
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                row = {}
                for k, v in r.items():
                    if v == "":
                        continue
                    try:
                        row[k] = int(v) if k in ("qp", "frame") else float(v)
                    except ValueError:
                        row[k] = v
                rows.append(row)
        curves = list(dict.fromkeys(r["curve"] for r in rows))
        qps = sorted({r["qp"] for r in rows})
        return cls(rows, qps, curves, [c for c in curves if c in unseen])

    def describe(self) -> str:
        """Which material a table's figures come from: clips, source clips, frames scored per clip, QPs."""
        clips = {r["clip"] for r in self.rows}
        frames = {(r["clip"], r["frame"]) for r in self.rows}
        return (f"Set: {len(clips)} clips ({len(clips) // max(len(self.curves), 1)} source clips x "
                f"{len(self.curves)} curves), {len(frames)} frames scored ({len(frames) / max(len(clips), 1):.1f} "
                f"per clip), QPs {', '.join(map(str, self.qps))}.")

    def write(self, out: str | Path, title: str = "Held-out-curve protocol") -> list[Path]:
        out = Path(out)
        (out / "plots").mkdir(parents=True, exist_ok=True)
        keys = sorted({k for r in self.rows for k in r})
        with open(out / "heldout.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        md = [f"# {title}", "", self.describe(), ""]
        for qp in self.qps:
            md += [f"## QP {qp}", "", "As is (what users get), every curve counted:", "", self.as_is_table(qp), "",
                   "As is, the held-out protocol's table (the model row: leave-one-curve-out weights where given):", "",
                   self.table(qp), "",
                   "Shape and level apart: each output scaled by the one factor that puts its median luminance on "
                   "the target's (aligned), the level error that factor undoes (output over target, in stops), and "
                   "the ceilings (ceiling_*: a global mapping fitted to each clip's master, bench.ceiling):", "",
                   self.shape_table(qp), ""]
        md += [f"- {n}" for n in dict.fromkeys(self.notes)]
        (out / "heldout.md").write_text("\n".join(md) + "\n")
        self._plot(out / "plots" / "heldout_psnr.png")
        return [out / "heldout.csv", out / "heldout.md", out / "plots" / "heldout_psnr.png"]

    def _plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        qp = 37 if 37 in self.qps else self.qps[len(self.qps) // 2]
        rows = self.summary(qp)
        ms = self.methods()
        x = np.arange(len(rows))
        wdt = 0.8 / len(ms)
        fig, ax = plt.subplots(figsize=(11, 4.2))
        for k, m in enumerate(ms):
            ax.bar(x + k * wdt, [r[f"{m}_psnr"] for r in rows], wdt,
                   label="held-out model" if m == LEARNED else CLASSICAL_LABELS.get(m, m))
        ax.set_xticks(x + wdt * (len(ms) - 1) / 2)
        ax.set_xticklabels([r["curve"] + ("*" if r["curve"] in self.unseen else "") for r in rows], rotation=20)
        ax.set_ylabel("PSNR (PQ), dB")
        ax.set_ylim(bottom=10)
        ax.set_title(f"Held-out curves at QP {qp}: left-out standard curves, * never in any training set")
        ax.legend(fontsize=8, ncol=len(ms))
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


def _model_fn(name: str, weights: Path, peak_nits: float, middle_grey: float | None = None):
    from sdr2hdr.engine.convert import model_mapper

    return lambda: model_mapper(name, weights, device="cpu", peak_nits=peak_nits, middle_grey=middle_grey)


def _learned_weights(curves: list[str], default_weights: Path, loco_dir: str | Path | None,
                     notes: list[str]) -> dict[str, Path | None]:
    """Per curve, weights that never saw it: the default ones for the held-out curves, else a leave-one-out run."""
    from sdr2hdr.data.heldout import HELDOUT_CURVES

    learned: dict[str, Path | None] = {}
    for c in curves:
        w = Path(loco_dir) / f"{c}.safetensors" if loco_dir else None
        if c in HELDOUT_CURVES:
            learned[c] = default_weights
        elif w is not None and w.is_file():
            learned[c] = w
        else:
            notes.append(f"no leave-one-curve-out weights for {c}: that curve is not held out for the model")
            learned[c] = None
    return learned


def _aligned(out: np.ndarray, target: np.ndarray, log_ratio: float, peak_pq: float,
             metrics: Sequence[str]) -> dict[str, float]:
    """The level error in stops and the scores of the output scaled in light by the one factor that puts its median
    luminance on the target's, then limited to the peak (the shape of the mapping, its level taken out)."""
    from sdr2hdr.color import pq_trim

    stops = log_ratio / np.log(2.0)
    moved = np.clip(np.asarray(pq_trim(out, -stops), dtype=np.float32), 0.0, peak_pq)
    got = score(moved, target, metrics)
    return {"level_stops": float(stops), **{f"{k}_aligned": v for k, v in got.items()}}


def _clip_rows(clip: TestClip, qp: int, runs: dict[str, Callable], target: list[np.ndarray], idx: list[int],
               metrics: Sequence[str], peak_pq: float = 1.0) -> list[dict]:
    """Rows for every method on one clip at one QP: scores per frame, the clip's flicker, the brightness ratio."""
    rows = []
    lq = clip.lq(qp)
    tgt_l = [_lum_nits(t) for t in target]
    for name, run in runs.items():
        outs = run(lq)
        fm, fp = flicker(outs, target)
        for i in idx:
            row = {"method": name, "curve": clip.degradation, "clip": clip.id, "qp": qp, "frame": i,
                   "flicker_mean": fm, "flicker_p99": fp}
            row.update(score(outs[i], target[i], metrics))
            lo = float(np.median(_lum_nits(outs[i])))
            row["log_lum_ratio"] = float(np.log(max(lo, 1e-3) / max(float(np.median(tgt_l[i])), 1e-3)))
            row.update(_aligned(outs[i], target[i], row["log_lum_ratio"], peak_pq, metrics))
            rows.append(row)
    return rows


def run_heldout(data_dir: str | Path, model: str = "adaptive_itm", default_weights: str | Path | None = None,
                loco_dir: str | Path | None = None, qps: Sequence[int] = (27, 37, 42), max_frames: int | None = None,
                metrics: Sequence[str] = ("psnr", "delta_e_itp"), peak_nits: float = 1000.0, extra: dict | None = None,
                progress: bool = True, ceilings: bool = False) -> HeldoutResult:
    """Score the held-out model and the classical mappings on every clip of a held-out set (data.heldout).

    extra: more rows, name -> mapper factory, e.g. the default weights on every curve. ceilings: also the global
    mappings fitted per clip to its target (bench.ceiling: the default's own family, a 33-point 3D LUT).
    """
    from tqdm import tqdm

    from sdr2hdr.bench.ceiling import ceiling_runs
    from sdr2hdr.color import pq_code
    from sdr2hdr.data.heldout import HELDOUT_CURVES
    from sdr2hdr.data.split import load_split
    from sdr2hdr.models.weights import shipped_weights

    clips = load_split(data_dir, "test")
    curves = list(dict.fromkeys(c.degradation for c in clips))
    default_weights = Path(default_weights) if default_weights else shipped_weights(model)
    if default_weights is None:
        raise InputError(f"{model} has no weights; pass --weights")
    notes: list[str] = []
    learned = _learned_weights(curves, default_weights, loco_dir, notes)
    classical = {m: classical_method(m, peak_nits) for m in CLASSICAL}
    rows: list[dict] = []
    total = sum(len([q for q in qps if q in c.qps]) for c in clips)
    bar = tqdm(total=total, unit="clip", desc="held-out curves", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.5)
    cache: dict = {}
    fits = ceiling_runs(pq_code(peak_nits)) if ceilings else {}
    for clip in clips:
        target = clip.hdr()
        idx = pick_frames(len(target), max_frames)
        runs = {m: (lambda frames, meth=meth: [meth.run(frames, i)[0] for i in range(len(frames))])
                for m, meth in classical.items()}
        w = learned[clip.degradation]
        if w is not None:
            key = (model, str(w))
            if key not in cache:
                cache[key] = _model_fn(model, w, peak_nits)
            runs[LEARNED] = (lambda frames, f=cache[key]: _stream(f(), frames))
        for name, make in (extra or {}).items():
            runs[name] = (lambda frames, f=make: _stream(f(), frames))
        for qp in qps:
            if qp in clip.qps:
                if ceilings:  # fitted to this clip at this QP against its target
                    lq_runs = {n: (lambda frames, f=f, t=target: f(frames, t)) for n, f in fits.items()}
                    runs = {**runs, **lq_runs}
                rows += _clip_rows(clip, qp, runs, target, idx, metrics, pq_code(peak_nits))
                bar.update(1)
    bar.close()
    return HeldoutResult(rows, list(qps), curves, [c for c in curves if c in HELDOUT_CURVES], notes)


def _stream(mapper, frames: list[np.ndarray]) -> list[np.ndarray]:
    """A whole clip through a stream mapper, in order, as the converter runs it (smoothing and all)."""
    out = []
    for f in frames:
        out.extend(mapper.push(f))
    out.extend(mapper.flush())
    return out


def run_informed(data_dir: str | Path, weights: dict, qps: Sequence[int] = (27, 37, 42), max_frames: int | None = None,
                 metrics: Sequence[str] = ("psnr", "delta_e_itp"), peak_nits: float = 1000.0,
                 progress: bool = True) -> str:
    """Informed mode against the exact inverse on the clips made with each curve: a markdown table per curve.

    weights: curve -> safetensors of informed_<curve> (None: the exact inverse alone is scored).
    """
    from tqdm import tqdm

    from sdr2hdr.color import pq_code
    from sdr2hdr.data.split import load_split
    from sdr2hdr.engine.infer import ModelRunner, ModelStream
    from sdr2hdr.models import create
    from sdr2hdr.models.weights import load_weights
    from sdr2hdr.tonemap.source_inverse import source_inverse

    clips = load_split(data_dir, "test")
    pq_peak = pq_code(peak_nits)
    lines = ["| curve | QP | exact inverse PSNR / ΔE ITP | informed PSNR / ΔE ITP | gain (dB) | ΔE ITP ratio | "
             "flicker (exact / informed), codes |", "|---|---|---|---|---|---|---|"]
    for curve, w in weights.items():
        inv = source_inverse(curve)
        model = None
        if w is not None:
            model = create(f"informed_{curve}")
            load_weights(model, w)
        cs = [c for c in clips if c.degradation == curve]
        bar = tqdm(total=len(cs) * len(qps), desc=f"informed {curve}", disable=not progress, file=sys.stderr)
        acc = {qp: {"exact": [], "informed": [], "fe": [], "fi": []} for qp in qps}
        for clip in cs:
            target = clip.hdr()
            idx = pick_frames(len(target), max_frames)
            for qp in qps:
                lq = clip.lq(qp)
                ex = [np.clip(inv(f), 0, pq_peak) for f in lq]
                if model is not None:
                    stream = ModelStream(curve, ModelRunner(model, device="cpu", tile=512, max_value=pq_peak))
                    inf = _stream(stream, lq)
                else:
                    inf = ex
                acc[qp]["fe"].append(flicker(ex, target)[0])
                acc[qp]["fi"].append(flicker(inf, target)[0])
                for i in idx:
                    acc[qp]["exact"].append(score(ex[i], target[i], metrics))
                    acc[qp]["informed"].append(score(inf[i], target[i], metrics))
                bar.update(1)
        bar.close()
        for qp in qps:
            e = {m: float(np.mean([r[m] for r in acc[qp]["exact"]])) for m in metrics}
            f = {m: float(np.mean([r[m] for r in acc[qp]["informed"]])) for m in metrics}
            lines.append(f"| {curve} | {qp} | {e['psnr']:.2f} / {e['delta_e_itp']:.1f} | {f['psnr']:.2f} / "
                         f"{f['delta_e_itp']:.1f} | {f['psnr'] - e['psnr']:+.2f} | "
                         f"{f['delta_e_itp'] / e['delta_e_itp']:.3f} | {np.mean(acc[qp]['fe']):.2f} / "
                         f"{np.mean(acc[qp]['fi']):.2f} |")
    return "\n".join(lines)
