"""Writing a benchmark's results: results.csv, summary.csv, results.md (the papers' table layouts), plots, report.html.

Files written into the output folder
- results.csv: one row per method x QP x clip x evaluated frame: method, kind (classical / model), qp, degradation
  (the clip's tone-mapping model), clip, source, frame, ms (that frame's mapping time) and one column per metric.
- summary.csv: one row per method x degradation ("all" = every clip) x QP ("mean" = every QP): frames, the mean of
  each metric over those frames, params, ms_per_frame (median over all of the method's frames).
- results.md: DIDNet table 1's layout (params, ms/frame, PSNR per QP, mean PSNR / SSIM / MS-SSIM / Delta E ITP),
  each other metric per QP, table 2's layout for VIFp / HaarPSI / VSI / mPSNR / JOD when computed, then the same
  per degradation model. Best value of each quality column in bold.
- plots/psnr_vs_ms.png (GPGMNet figure 1: mean PSNR against ms per frame, log x), plots/<metric>_vs_qp.png,
  plots/psnr_vs_qp_by_degradation.png.
- sr_itm.md and sr_itm.csv (task "sr-itm"): Deep SR-ITM's / GPGMNet's table: PSNR, SSIM, mPSNR, Delta E ITP,
  ms/frame per method, the best fixed classical row and each row's PSNR gap to bicubic + that classical mapping;
  with more than one degradation model (a held-out-curve set: one per curve) also a table per degradation model:
  every method's PSNR / Delta E ITP, the best bicubic + classical for that model, each SR model's gaps.
- A group of methods (the checkpoints of DIDNet's protocol) is one row of every table: the mean of the members'
  scores ± their standard deviation; a "Per checkpoint" section lists each member.
- report.html with report_files/: the tables, the plots and, for a few test frames, the SDR input, the ground truth
  and each output tone-mapped for an SDR screen, and a Delta E ITP heat map per output.

Every figure is a plain mean over evaluated frames (each frame weighs the same), as DIDNet averages its test frames.
"""

from __future__ import annotations

import csv
import html
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sdr2hdr.bench.methods import Method
from sdr2hdr.bench.run import BenchResult, Sample, qp_label
from sdr2hdr.bench.scores import METRIC_INFO

TABLE1_MEANS = ("psnr", "ssim", "ms_ssim", "delta_e_itp")
TABLE2 = ("ms_ssim", "vifp", "haarpsi", "vsi", "mpsnr", "cvvdp")
ALL = "all"
MEAN = "mean"

DISPLAY_NOTE = ("Shown for an SDR screen: PQ decoded to cd/m2, BT.2390 EETF (source 0-1000 cd/m2, target 0-100 "
                "cd/m2) applied to max(R,G,B) with the pixel scaled by the same ratio (keeps hue), BT.2020 to BT.709 "
                "with a hard clip (BT.2407), BT.1886 inverse EOTF (gamma 2.4, 100 cd/m2 white), 8 bits. The SDR "
                "input is shown as decoded.")


def _mean(values) -> float:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(vals)) if vals else float("nan")


class Summary:
    """Means of every metric per (method, degradation, qp), with "all" and "mean" as the wildcards.

    Methods sharing a group (the checkpoints of DIDNet's protocol) are shown as one row named after the group:
    each figure is the mean of the members' means, and spread() is their standard deviation.
    """

    def __init__(self, result: BenchResult) -> None:
        self.result = result
        self.degradations = sorted({r["degradation"] for r in result.rows})
        groups: dict = {}
        for r in result.rows:
            for deg in (ALL, r["degradation"]):
                for qp in (MEAN, r["qp"]):
                    groups.setdefault((r["method"], deg, qp), []).append(r)
        self.groups = groups
        scored = [m for m in result.methods if any(k[0] == m.name for k in groups)]
        self.members: dict[str, list[Method]] = {}
        self.methods: list[Method] = []
        for m in scored:
            if m.group is None:
                self.methods.append(m)
                continue
            if m.group not in self.members:
                self.members[m.group] = []
                self.methods.append(replace(m, name=m.group, label=m.group, group=None,
                                            note=f"{m.group}: each checkpoint scored, the mean of their scores"))
            self.members[m.group].append(m)

    def _member_values(self, method: str, metric: str, degradation: str, qp) -> list[float]:
        return [self.get(m.name, metric, degradation, qp) for m in self.members[method]]

    def get(self, method: str, metric: str, degradation: str = ALL, qp: int | str | None = MEAN) -> float:
        if method in self.members:
            return _mean(self._member_values(method, metric, degradation, qp))
        return _mean(r.get(metric) for r in self.groups.get((method, degradation, qp), []))

    def spread(self, method: str, metric: str, degradation: str = ALL, qp: int | str | None = MEAN) -> float | None:
        """Standard deviation over a group's members (None for a single method)."""
        if method not in self.members:
            return None
        vals = [v for v in self._member_values(method, metric, degradation, qp) if not math.isnan(v)]
        return float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")

    def cell(self, method: str, metric: str, degradation: str = ALL, qp: int | str | None = MEAN) -> tuple:
        """A table cell: (mean, digits), or (mean, digits, spread) for a group."""
        digits = METRIC_INFO[metric].digits
        sd = self.spread(method, metric, degradation, qp)
        value = self.get(method, metric, degradation, qp)
        return (value, digits) if sd is None else (value, digits, sd)

    def frames(self, method: str, degradation: str = ALL, qp: int | str | None = MEAN) -> int:
        if method in self.members:
            return sum(self.frames(m.name, degradation, qp) for m in self.members[method])
        return len(self.groups.get((method, degradation, qp), []))

    def ms(self, method: str) -> float:
        """Median ms per frame; a group's over all its members' frames."""
        if method in self.members:
            secs = [x for m in self.members[method] for x in self.result.seconds.get(m.name, [])]
            return 1000.0 * float(np.median(secs)) if secs else float("nan")
        return self.result.ms_per_frame(method)

    def rows(self) -> list[dict]:
        out = []
        every = self.methods + [m for ms in self.members.values() for m in ms]
        for m in every:
            for deg in (ALL, *self.degradations):
                for qp in (*self.result.qps, MEAN):
                    n = self.frames(m.name, deg, qp)
                    if not n:
                        continue
                    row = {"method": m.name, "kind": m.kind, "degradation": deg, "qp": _qp_text(qp), "frames": n,
                           "params": m.params if m.params is not None else "",
                           "ms_per_frame": round(self.ms(m.name), 3)}
                    row.update({k: self.get(m.name, k, deg, qp) for k in self.result.metrics})
                    if m.name in self.members:
                        row.update({f"{k}_sd": self.spread(m.name, k, deg, qp) for k in self.result.metrics})
                    out.append(row)
        return out


def _qp_text(qp) -> str | int:
    return "uncoded" if qp is None else qp


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list]  # cells: str, (float, digits) for numbers, (float, digits, spread) for a group's mean
    better: list  # per column: None, True (higher best) or False (lower best)

    def _cells(self) -> list[list[str]]:
        best = {}
        for j, b in enumerate(self.better):
            vals = [r[j][0] for r in self.rows if isinstance(r[j], tuple) and not math.isnan(r[j][0])]
            if b is not None and len(vals) > 1:
                best[j] = max(vals) if b else min(vals)
        out = []
        for r in self.rows:
            cells = []
            for j, c in enumerate(r):
                if isinstance(c, tuple):
                    v, digits = c[:2]
                    s = "–" if math.isnan(v) else f"{v:.{digits}f}"
                    if len(c) > 2 and not math.isnan(v) and not math.isnan(c[2]):
                        s += f" ± {c[2]:.{digits}f}"
                    if j in best and not math.isnan(v) and round(v, digits) == round(best[j], digits):
                        s = f"**{s}**"
                    cells.append(s)
                else:
                    cells.append(str(c))
            out.append(cells)
        return out

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.header)} |", "|" + "|".join(["---"] + ["---:"] * (len(self.header) - 1)) + "|"]
        lines += [f"| {' | '.join(r)} |" for r in self._cells()]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = []
        for r in self._cells():
            tds = []
            for c in r:
                bold = c.startswith("**")
                text = html.escape(c.strip("*"))
                tds.append(f"<td><b>{text}</b></td>" if bold else f"<td>{text}</td>")
            body.append("<tr>" + "".join(tds) + "</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _label(result: BenchResult, name: str) -> str:
    return next(m.label for m in result.methods if m.name == name)


def table1(s: Summary, degradation: str = ALL, methods: list[Method] | None = None) -> Table:
    """DIDNet table 1: Methods, Params, Runtime, PSNR at each QP, Mean-PSNR, Mean-SSIM, Delta E ITP.

    methods: the rows (default: the summary's, a checkpoint group as one row).
    """
    r = s.result
    means = [k for k in TABLE1_MEANS if k in r.metrics]
    header = ["Method", "Params (M)", "ms/frame"]
    better: list = [None, None, None]
    if "psnr" in r.metrics:
        header += [f"PSNR {qp_label(qp)}" for qp in r.qps]
        better += [True] * len(r.qps)
    header += [f"Mean {METRIC_INFO[k].label}" for k in means]
    better += [METRIC_INFO[k].higher_better for k in means]
    rows = []
    for m in s.methods if methods is None else methods:
        if not s.frames(m.name, degradation):
            continue
        row: list = [m.label, "–" if m.params is None else f"{m.params / 1e6:.3f}",
                     f"{s.ms(m.name):.1f}"]
        if "psnr" in r.metrics:
            row += [s.cell(m.name, "psnr", degradation, qp) for qp in r.qps]
        row += [s.cell(m.name, k, degradation) for k in means]
        rows.append(row)
    return Table("", header, rows, better)


def per_qp_table(s: Summary, metric: str, degradation: str = ALL) -> Table:
    r, info = s.result, METRIC_INFO[metric]
    header = ["Method"] + [qp_label(qp) for qp in r.qps] + ["Mean"]
    rows = [[m.label] + [s.cell(m.name, metric, degradation, qp) for qp in (*r.qps, MEAN)]
            for m in s.methods if s.frames(m.name, degradation)]
    return Table(info.label, header, rows, [None] + [info.higher_better] * (len(r.qps) + 1))


def table2(s: Summary, degradation: str = ALL) -> Table | None:
    """DIDNet table 2's layout: MS-SSIM, VIFp, HaarPSI, VSI (and mPSNR, JOD) means, when any extra was computed."""
    keys = [k for k in TABLE2 if k in s.result.metrics]
    if not any(k in s.result.metrics for k in TABLE2[1:]):
        return None
    rows = [[m.label] + [s.cell(m.name, k, degradation) for k in keys]
            for m in s.methods if s.frames(m.name, degradation)]
    return Table("", ["Method"] + [METRIC_INFO[k].label for k in keys], rows,
                 [None] + [METRIC_INFO[k].higher_better for k in keys])


def by_degradation_table(s: Summary, metric: str) -> Table:
    info = METRIC_INFO[metric]
    rows = [[m.label] + [s.cell(m.name, metric, d) for d in (*s.degradations, ALL)]
            for m in s.methods]
    return Table(info.label, ["Method", *s.degradations, "all"], rows,
                 [None] + [info.higher_better] * (len(s.degradations) + 1))


def _preamble(result: BenchResult) -> list[str]:
    w, h = result.frame_size or (0, 0)
    frames = len({(r["clip"], r["frame"]) for r in result.rows})
    per = "input" if None in result.qps else "QP"
    return [
        f"Data: `{result.data_dir}`, split `{result.split}`: {result.clips} clips, {frames} frames evaluated per "
        f"{per} ({w}x{h} target), degradation models: {', '.join(sorted({r['degradation'] for r in result.rows}))}.",
        "Metrics on PQ R'G'B' BT.2020 in [0, 1] (PSNR and SSIM with peak / data range 1); ΔE ITP is BT.2124, the "
        "mean over pixels. Each figure is the mean over the evaluated frames. ms/frame is the median time of one "
        f"mapping call (model: tensor in, forward, clamp) per output frame on {result.device}, "
        f"{os.cpu_count()} CPU cores visible. Classical rows name the HDR level SDR white is mapped to.",
        _input_note(result),
    ]


def _input_note(result: BenchResult) -> str:
    coded = ", ".join(qp_label(qp) for qp in _coded(result))
    if result.task != "sr-itm":
        what = f"x265-coded SDR at {coded}" if coded else ""
        if None in result.qps:
            what = "uncoded HQ SDR (sdr/x1)" + (f" and {what}" if what else "")
        return f"Input: {what}; target: the HDR frames."
    what = (f"the uncoded x{result.scale} SDR (sdr/x{result.scale}: the builder's MATLAB-style bicubic down-scale, "
            "as Deep SR-ITM and GPGMNet tested)") if None in result.qps else ""
    if coded:
        what += (" and " if what else "") + f"that down-scale x265-coded at {coded} (our compressed variant)"
    return (f"SR-ITM task x{result.scale}: input {what}; target: the HDR frames at full size. Classical rows "
            f"up-scale with MATLAB-style bicubic (Keys a = -0.5) before the mapping.")


def best_classical(s: Summary) -> Method | None:
    """The classical method with the best mean PSNR over every clip and input: the best fixed classical choice."""
    rows = [m for m in s.methods if m.kind == "classical" and not math.isnan(s.get(m.name, "psnr"))]
    return max(rows, key=lambda m: s.get(m.name, "psnr")) if rows else None


SR_ITM_METRICS = ("psnr", "ssim", "mpsnr", "delta_e_itp", "ms_ssim")


def sr_itm_table(s: Summary) -> Table:
    """Deep SR-ITM table 3 / GPGMNet table 1: PSNR, SSIM, mPSNR, Delta E ITP, ms/frame, and each row's PSNR gap to
    bicubic + the best fixed classical mapping (the row it has to beat)."""
    r = s.result
    keys = [k for k in SR_ITM_METRICS if k in r.metrics]
    header, better = ["Method", "Params (M)", "ms/frame"], [None, None, None]
    if "psnr" in r.metrics and len(r.qps) > 1:
        header += [f"PSNR {qp_label(qp)}" for qp in r.qps]
        better += [True] * len(r.qps)
    header += [METRIC_INFO[k].label for k in keys] + ["ΔPSNR vs best classical"]
    better += [METRIC_INFO[k].higher_better for k in keys] + [None]
    best = best_classical(s)
    ref = s.get(best.name, "psnr") if best is not None else float("nan")

    def row(m: Method, label: str, gap: bool) -> list:
        cells: list = [label, "–" if m.params is None else f"{m.params / 1e6:.3f}", f"{s.ms(m.name):.1f}"]
        if "psnr" in r.metrics and len(r.qps) > 1:
            cells += [s.cell(m.name, "psnr", ALL, qp) for qp in r.qps]
        cells += [s.cell(m.name, k) for k in keys]
        d = s.get(m.name, "psnr") - ref
        return cells + [f"{d:+.2f}" if gap and not math.isnan(d) else "–"]

    classical = [m for m in s.methods if m.kind == "classical"]
    rows = [row(m, m.label, True) for m in classical]
    if best is not None:
        rows.append(row(best, f"Best fixed classical: {best.label}", False))
    rows += [row(m, m.label, True) for m in s.methods if m.kind != "classical"]
    return Table("", header, rows, better)


def _short(m: Method) -> str:
    return m.label.split(" (white")[0]


def sr_itm_by_degradation(s: Summary) -> Table:
    """Per degradation model (per curve on a held-out-curve set) and over all clips: every method's PSNR / Delta E
    ITP, the best bicubic + classical for that degradation (what knowing the curve would pick), and each model's PSNR
    gap to the best fixed classical (the overall best) and to that best for the degradation."""
    from sdr2hdr.data.heldout import HELDOUT_CURVES

    fixed = best_classical(s)
    classical = [m for m in s.methods if m.kind == "classical"]
    models = [m for m in s.methods if m.kind != "classical"]
    header = ["Degradation"] + [f"{_short(m)} PSNR / ΔE ITP" for m in s.methods] + ["Best bicubic + classical for it"]
    header += [f"{m.label} ΔPSNR vs best fixed / vs best for it" for m in models]
    rows = []
    for deg in (*s.degradations, ALL):
        name = "all" if deg == ALL else deg + (" (never trained on)" if deg in HELDOUT_CURVES else "")
        cells = [name] + [f"{s.get(m.name, 'psnr', deg):.2f} / {s.get(m.name, 'delta_e_itp', deg):.1f}"
                          for m in s.methods]
        best = max(classical, key=lambda m: s.get(m.name, "psnr", deg)) if classical else None
        cells.append("–" if best is None else f"{_short(best)} {s.get(best.name, 'psnr', deg):.2f}")
        for m in models:
            v = s.get(m.name, "psnr", deg)
            to_fixed = v - s.get(fixed.name, "psnr", deg) if fixed is not None else float("nan")
            to_best = v - s.get(best.name, "psnr", deg) if best is not None else float("nan")
            cells.append(f"{to_fixed:+.2f} / {to_best:+.2f}")
        rows.append(cells)
    return Table("", header, rows, [None] * len(header))


def checkpoint_section(s: Summary) -> list[str]:
    """Markdown lines: each checkpoint of a group scored on its own (DIDNet's protocol), under the group's row."""
    if not s.members:
        return []
    out = ["## Per checkpoint (DIDNet's protocol)", "",
           "DIDNet tests each of the last six checkpoints and reports the mean score; the tables above show each "
           "group as one row, the mean of its checkpoints' scores ± their standard deviation. A weight-averaged "
           "model, when scored, is a row of its own.", ""]
    for group, members in s.members.items():
        out += [f"### {group}", "", table1(s, methods=members).markdown(), ""]
    return out


def write_sr_itm(result: BenchResult, out_dir: Path) -> list[Path]:
    """sr_itm.md (the SR-ITM table with what it was run on) and sr_itm.csv (the same figures, unrounded)."""
    s = Summary(result)
    table = sr_itm_table(s)
    md = out_dir / "sr_itm.md"
    lines = [f"# SR-ITM x{result.scale}", "", *_preamble(result), "", table.markdown(), ""]
    if len(s.degradations) > 1 and {"psnr", "delta_e_itp"} <= set(result.metrics):
        fixed = best_classical(s)
        lines += ["## By degradation model", "",
                  "PSNR / ΔE ITP per degradation model (on a held-out-curve set: the curve that made the SDR), the "
                  "best bicubic + classical mapping for each (what knowing the curve would pick) and each model's "
                  "PSNR gap to the best fixed one"
                  + (f" ({_short(fixed)})" if fixed is not None else "") + " and to that best for it.", "",
                  sr_itm_by_degradation(s).markdown(), ""]
    lines += checkpoint_section(s)
    lines += ["## Methods", ""] + [f"- {m.note}" for m in s.methods + [m for g in s.members.values() for m in g]]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(result.notes)]
    md.write_text("\n".join(lines) + "\n")
    best = best_classical(s)
    ref = s.get(best.name, "psnr") if best is not None else float("nan")
    keys = [k for k in SR_ITM_METRICS if k in result.metrics]
    path = out_dir / "sr_itm.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "kind", "scale", "input", "params", "ms_per_frame", *keys,
                    *[f"{k}_sd" for k in keys], "psnr_gap_to_best_classical", "best_classical"])
        for m in s.methods:
            sds = [s.spread(m.name, k) for k in keys]
            w.writerow([m.name, m.kind, result.scale, "+".join(str(_qp_text(q)) for q in result.qps),
                        m.params if m.params is not None else "", f"{s.ms(m.name):.3f}",
                        *[f"{s.get(m.name, k):.6g}" for k in keys], *["" if v is None else f"{v:.6g}" for v in sds],
                        f"{s.get(m.name, 'psnr') - ref:.6g}", best.name if best is not None else ""])
    return [md, path]


def write_markdown(result: BenchResult, path: Path) -> str:
    s = Summary(result)
    out = ["# SDR → HDR benchmark", "", *_preamble(result), ""]
    if result.task == "sr-itm":
        out += [f"## SR-ITM x{result.scale} (Deep SR-ITM / GPGMNet layout)", "", sr_itm_table(s).markdown(), ""]
    out += ["## Table 1: all test clips", "", table1(s).markdown(), ""]
    for metric in result.metrics:
        if metric == "psnr":
            continue
        out += [f"### {METRIC_INFO[metric].label} per QP", "", per_qp_table(s, metric).markdown(), ""]
    t2 = table2(s)
    if t2 is not None:
        out += ["## Table 2 layout: perceptual metrics (mean over QPs)", "", t2.markdown(), ""]
    out += ["## Per degradation model", "",
            "A classical inverse of one tone curve is close to exact on clips made with that curve and poor on the "
            "rest, so the overall table alone flatters or hides it. Mean over QPs:", ""]
    for metric in ("psnr", "delta_e_itp"):
        if metric in result.metrics:
            out += [f"### {METRIC_INFO[metric].label} by degradation model", "",
                    by_degradation_table(s, metric).markdown(), ""]
    for deg in s.degradations:
        n = len({r["clip"] for r in result.rows if r["degradation"] == deg})
        out += [f"### Degradation model `{deg}` ({n} clip{'s' if n != 1 else ''})", "",
                table1(s, deg).markdown(), ""]
    out += checkpoint_section(s)
    out += ["## Methods", ""] + [f"- {m.note}" for m in result.methods]
    if result.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(result.notes)]
    out += ["", "Files: results.csv (one row per method, QP, clip and frame), summary.csv (means per method, "
            "degradation model and QP), plots/, report.html.", ""]
    text = "\n".join(out)
    path.write_text(text)
    return text


def _csv_value(key: str, value):
    if key == "qp":
        return _qp_text(value)
    return f"{value:.6g}" if isinstance(value, float) else value


def write_csv(result: BenchResult, out_dir: Path) -> None:
    fields = ["method", "kind", "qp", "degradation", "clip", "source", "frame", "ms", *result.metrics]
    with open(out_dir / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in result.rows:
            w.writerow({k: _csv_value(k, v) for k, v in r.items()})
    s = Summary(result)
    rows = s.rows()
    fields = ["method", "kind", "degradation", "qp", "frames", "params", "ms_per_frame", *result.metrics]
    if s.members:  # DIDNet's protocol: the spread over the checkpoints beside each mean
        fields += [f"{k}_sd" for k in result.metrics]
    with open(out_dir / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path, dpi: int) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _style(kind: str) -> dict:
    """Classical mappings as dashed lines with square markers, models solid with round ones."""
    return {"marker": "s" if kind == "classical" else "o", "linestyle": "--" if kind == "classical" else "-"}


def _plot_psnr_vs_ms(plt, result: BenchResult, s: Summary, path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = []
    for m in s.methods:
        x, y = s.ms(m.name), s.get(m.name, "psnr")
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        x = max(x, 1e-3)  # a log axis cannot show zero
        xs.append(x)
        ax.scatter([x], [y], marker="s" if m.kind == "classical" else "o", s=50,
                   color="tab:gray" if m.kind == "classical" else "tab:blue")
        ax.annotate(m.name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xscale("log")
    if xs:  # room on the right for the names
        ax.set_xlim(min(xs) / 1.5, max(xs) * 3.0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"ms per frame ({result.device}, log scale)")
    ax.set_ylabel("PSNR (dB), mean over QPs")
    ax.set_title("PSNR against runtime (squares: classical mappings)")
    ax.grid(True, which="both", alpha=0.3)
    return _save(plt, fig, path, 110)


def _coded(result: BenchResult) -> list[int]:
    return [qp for qp in result.qps if qp is not None]


def _plot_metric_vs_qp(plt, result: BenchResult, s: Summary, metric: str, path: Path) -> Path:
    info = METRIC_INFO[metric]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    qps = _coded(result)
    for m in s.methods:
        ax.plot(qps, [s.get(m.name, metric, ALL, qp) for qp in qps], label=m.label, **_style(m.kind))
    ax.set_xlabel("QP of the SDR input (HEVC)")
    ax.set_ylabel(info.label + ("" if info.higher_better else " (lower is better)"))
    ax.set_xticks(qps)
    ax.set_title(f"{info.label} against QP, all test clips")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(plt, fig, path, 110)


def _plot_by_degradation(plt, result: BenchResult, s: Summary, path: Path) -> Path:
    n = len(s.degradations)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False, sharey=True)
    qps = _coded(result)
    for ax, deg in zip(axes.flat, s.degradations):
        for m in s.methods:
            ax.plot(qps, [s.get(m.name, "psnr", deg, qp) for qp in qps], label=m.label, **_style(m.kind))
        ax.set_title(f"degradation: {deg}", fontsize=9)
        ax.set_xticks(qps)
        ax.grid(True, alpha=0.3)
    for ax in axes.flat[n:]:
        ax.axis("off")
    axes.flat[0].set_ylabel("PSNR (dB)")
    axes.flat[0].legend(fontsize=6)
    return _save(plt, fig, path, 100)


def write_plots(result: BenchResult, out_dir: Path) -> list[Path]:
    """plots/*.png: PSNR against runtime, each metric against QP, PSNR against QP per degradation model.

    The curves against QP need coded input at two QPs or more: an uncoded-input run draws only the first plot.
    """
    plt = _pyplot()
    s = Summary(result)
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    written = []
    if "psnr" in result.metrics:
        written.append(_plot_psnr_vs_ms(plt, result, s, plots / "psnr_vs_ms.png"))
    if len(_coded(result)) < 2:
        return written
    for metric in result.metrics:
        written.append(_plot_metric_vs_qp(plt, result, s, metric, plots / f"{metric}_vs_qp.png"))
    if "psnr" in result.metrics and s.degradations:
        written.append(_plot_by_degradation(plt, result, s, plots / "psnr_vs_qp_by_degradation.png"))
    return written


def display_sdr(pq: np.ndarray) -> np.ndarray:
    """PQ R'G'B' BT.2020 -> BT.709 R'G'B' in [0, 1] for an SDR screen (see DISPLAY_NOTE)."""
    from sdr2hdr.color import bt1886_inverse_eotf, gamut_clip_2020_to_709, pq_eotf
    from sdr2hdr.tonemap import eetf_to_sdr

    rel = eetf_to_sdr(pq_eotf(np.asarray(pq, dtype=np.float64)), src_white=1000.0, mode="maxrgb")
    return np.asarray(bt1886_inverse_eotf(100.0 * gamut_clip_2020_to_709(rel, upper=1.0)), dtype=np.float32)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


_CSS = ("body{font-family:sans-serif;margin:1.5em;max-width:1400px} table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right;font-size:13px} td:first-child,"
        "th:first-child{text-align:left} figure{display:inline-block;margin:4px;vertical-align:top;"
        "text-align:center} figcaption{font-size:12px;max-width:300px} img.frame{width:300px}")


def _sample_frames(result: BenchResult, sm: Sample, files: Path, tag: str) -> list[str]:
    """Figures of one sample frame: the input, the target and every output, each output with its scores."""
    from sdr2hdr.io.images import write_png8

    tiles = [("SDR input (LQ, as decoded)", sm.sdr_input, "input"), ("ground truth HDR", display_sdr(sm.target),
                                                                      "target")]
    tiles += [(_label(result, n), display_sdr(pq), _safe(n)) for n, pq in sm.outputs.items()]
    parts = []
    for caption, img, name in tiles:
        path = files / f"{tag}_{name}.png"
        write_png8(path, img)
        caption = html.escape(caption)
        if name not in ("input", "target"):
            row = next((r for r in result.rows if r["clip"] == sm.clip and r["qp"] == sm.qp
                        and r["frame"] == sm.frame and _safe(r["method"]) == name), {})
            caption += "".join(f"<br>{METRIC_INFO[m].label} {row[m]:.{METRIC_INFO[m].digits}f}"
                               for m in ("psnr", "delta_e_itp") if m in row)
        parts.append(f"<figure><img class='frame' src='report_files/{path.name}'><figcaption>{caption}"
                     f"</figcaption></figure>")
    return parts


def _sample_maps(sm: Sample, files: Path, tag: str, heat_max: float | None) -> list[str]:
    """Figures of one sample frame: a Delta E ITP map per output, all on one colour scale."""
    from sdr2hdr.color import delta_e_itp_pq

    plt = _pyplot()
    maps = {n: np.asarray(delta_e_itp_pq(pq, sm.target[: pq.shape[0], : pq.shape[1]])) for n, pq in
            sm.outputs.items()}
    # one colour scale for every output of the frame, so the maps compare at a glance; the median of the
    # outputs' 99th percentiles keeps one very poor output from flattening every other map
    vmax = heat_max or max(float(np.median([np.percentile(m, 99) for m in maps.values()] or [1.0])), 1.0)
    parts = []
    for n, dmap in maps.items():
        fig, ax = plt.subplots(figsize=(4.2, 3.4 * dmap.shape[0] / dmap.shape[1] + 0.5))
        im = ax.imshow(dmap, cmap="inferno", vmin=0.0, vmax=vmax)
        ax.set_axis_off()
        ax.set_title(f"ΔE ITP: {n}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, extend="max")
        fig.tight_layout(pad=0.3)
        path = files / f"{tag}_{_safe(n)}_deitp.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        parts.append(f"<figure><img src='report_files/{path.name}'><figcaption>ΔE ITP per pixel, mean "
                     f"{float(dmap.mean()):.2f} (colour scale 0-{vmax:.1f}, same for every output of this "
                     f"frame, higher values at the top colour)</figcaption></figure>")
    return parts


def write_html(result: BenchResult, out_dir: Path, plots: list[Path], heat_max: float | None = None) -> Path:
    """report.html plus report_files/ (PNG images) beside it."""
    files = out_dir / "report_files"
    files.mkdir(parents=True, exist_ok=True)
    s = Summary(result)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>SDR to HDR benchmark</title><style>", _CSS,
        "</style></head><body><h1>SDR → HDR benchmark</h1>",
        *[f"<p>{html.escape(p.replace('`', ''))}</p>" for p in _preamble(result)],
        "<h2>Table 1: all test clips</h2>", table1(s).html(),
    ]
    if "psnr" in result.metrics:
        parts += ["<h2>PSNR by degradation model (mean over QPs)</h2>", by_degradation_table(s, "psnr").html()]
    if "delta_e_itp" in result.metrics:
        parts += ["<h2>ΔE ITP by degradation model (mean over QPs)</h2>",
                  by_degradation_table(s, "delta_e_itp").html()]
    parts.append("<h2>Plots</h2>")
    parts += [f"<img src='{p.relative_to(out_dir).as_posix()}' style='max-width:700px;margin:4px'>" for p in plots]
    parts += ["<h2>Test frames</h2>", f"<p>{html.escape(DISPLAY_NOTE)}</p>"]
    for k, sm in enumerate(result.samples):
        tag = f"s{k}_{_safe(sm.clip)}_qp{sm.qp}_f{sm.frame}"
        parts.append(f"<h3>clip {html.escape(sm.clip)} (degradation {html.escape(sm.degradation)}), {qp_label(sm.qp)}, "
                     f"frame {sm.frame}</h3><div>")
        parts += _sample_frames(result, sm, files, tag)
        parts.append("</div><div>")
        parts += _sample_maps(sm, files, tag, heat_max)
        parts.append("</div>")
    parts += ["<h2>Methods</h2><ul>"] + [f"<li>{html.escape(m.note)}</li>" for m in result.methods] + ["</ul>"]
    if result.notes:
        parts += ["<h2>Notes</h2><ul>"] + [f"<li>{html.escape(n)}</li>" for n in dict.fromkeys(result.notes)]
        parts.append("</ul>")
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts))
    return path


def write_all(result: BenchResult, out_dir: str | Path, html_report: bool = True) -> dict[str, Path]:
    """Every output file; returns their paths by kind."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(result, out_dir)
    write_markdown(result, out_dir / "results.md")
    plots = write_plots(result, out_dir)
    paths = {"csv": out_dir / "results.csv", "summary": out_dir / "summary.csv", "markdown": out_dir / "results.md"}
    if result.task == "sr-itm":
        paths["sr_itm"], paths["sr_itm_csv"] = write_sr_itm(result, out_dir)
    if html_report:
        paths["html"] = write_html(result, out_dir, plots)
    return paths
