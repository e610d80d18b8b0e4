"""Running methods over a test split: every method on the same frames at every QP, scored and timed per frame.

- run_benchmark(clips, methods, qps, metrics, ...) -> BenchResult
- BenchResult: per-frame rows, per-method timings, notes (what was skipped and why), sample frames for the report
- pick_frames(n, max_frames) -> the evaluated frame indices of a clip (evenly spread)
- qp_label(qp) -> "QP37", or "uncoded" for qp None (the uncoded input, sdr/xS: the SR-ITM papers' protocol)

A method that needs an input the data does not have (an x4 SR model on a set without x4 frames) is skipped with a
note, never failed: the rest of the table is still worth having.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from sdr2hdr.bench.methods import Method
from sdr2hdr.bench.scores import resolve, score
from sdr2hdr.data.split import TestClip
from sdr2hdr.errors import InputError


def qp_label(qp: int | None) -> str:
    return "uncoded" if qp is None else f"QP{qp}"


def _qp_order(qp: int | None) -> int:
    return -1 if qp is None else qp  # the uncoded input first, then rising QPs


@dataclass
class Sample:
    """One frame shown in the HTML report: the SDR input, the target and every method's output."""

    clip: str
    degradation: str
    qp: int | None
    frame: int
    sdr_input: np.ndarray
    target: np.ndarray
    outputs: dict = field(default_factory=dict)  # method name -> PQ R'G'B'


@dataclass
class BenchResult:
    rows: list[dict]
    methods: list[Method]
    qps: list[int | None]  # None: the uncoded input
    metrics: list[str]
    seconds: dict  # method name -> seconds per frame, every call
    notes: list[str]
    samples: list[Sample]
    clips: int
    frame_size: tuple[int, int] | None
    split: str = "test"
    data_dir: str = ""
    device: str = "cpu"
    task: str = "itm"  # "itm", or "sr-itm": every method maps an x`scale` input to the full-size target
    scale: int = 1

    def ms_per_frame(self, name: str) -> float:
        """Median over frames: the first call's one-off costs (allocation, kernel selection) do not count."""
        s = self.seconds.get(name) or []
        return 1000.0 * statistics.median(s) if s else float("nan")


def pick_frames(n: int, max_frames: int | None) -> list[int]:
    if not max_frames or max_frames >= n:
        return list(range(n))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, max_frames)})


def _report_plan(clips: list[TestClip], qps: list, count: int, report_qp: int | None) -> tuple[dict, int | None]:
    """Which clips give a report frame: one per degradation model first, so the page shows the range of inputs."""
    if count <= 0 or not qps:
        return {}, None
    qp = report_qp if report_qp in qps else (37 if 37 in qps else qps[len(qps) // 2])
    chosen, seen = [], set()
    for clip in clips:
        if clip.degradation not in seen:
            chosen.append(clip.id)
            seen.add(clip.degradation)
    for clip in clips:
        if clip.id not in chosen:
            chosen.append(clip.id)
    return dict.fromkeys(chosen[:count]), qp


def _check_qps(clips: list[TestClip], qps: list[int | None] | None) -> list[int | None]:
    """The QPs asked for (all the data's coded QPs when None), sorted, each one present in the data.

    A None in the list asks for the uncoded input (sdr/xS); it comes first.
    """
    available = sorted({qp for c in clips for qp in c.qps})
    qps = sorted(dict.fromkeys(available if qps is None else qps), key=_qp_order)
    if None in qps and not any(c.has_input(None) for c in clips):
        raise InputError("the data has no uncoded SDR frames (sdr/xS in its clips); score coded input with --qps")
    absent = [qp for qp in qps if qp is not None and qp not in available]
    if absent:
        raise InputError(f"QP {absent[0]} is not in the data (it has {', '.join(map(str, available)) or 'none'})")
    return qps


def _score_frames(result: BenchResult, method: Method, clip: TestClip, qp: int | None, frames: list, target: list,
                  indices: list[int], sample: Sample | None, bar: tqdm) -> None:
    """One method on the evaluated frames of one clip at one QP: a scored, timed row per frame."""
    for i in indices:
        pred, secs = method.run(frames, i)
        ref = target[i]
        if pred.shape != ref.shape:
            # an SR input whose size was rounded down gives a slightly smaller output
            h, w = min(pred.shape[0], ref.shape[0]), min(pred.shape[1], ref.shape[1])
            pred, ref = pred[:h, :w], ref[:h, :w]
        result.seconds[method.name].append(secs)
        row = {"method": method.name, "kind": method.kind, "qp": qp, "degradation": clip.degradation,
               "clip": clip.id, "source": clip.source, "frame": i, "ms": 1000.0 * secs}
        row.update(score(pred, ref, result.metrics))
        result.rows.append(row)
        if sample is not None and i == sample.frame:
            sample.outputs[method.name] = pred
        bar.update(1)


def _run_qp(result: BenchResult, clip: TestClip, qp: int | None, target: list, indices: list[int],
            sample: Sample | None, skipped: set, bar: tqdm) -> None:
    """Every method on one clip at one QP; a method whose input scale the data lacks is skipped with a note."""
    lq: dict[int, list] = {}
    for method in result.methods:
        bar.set_postfix_str(f"{method.name} {qp_label(qp)} {clip.id}", refresh=False)
        if method.scale not in clip.scales(qp):
            if (method.name, method.scale) not in skipped:
                skipped.add((method.name, method.scale))
                kind = "uncoded SDR" if qp is None else "LQ"
                result.notes.append(f"{method.name} skipped: the data has no x{method.scale} {kind} frames")
            bar.update(len(indices))
            continue
        if method.scale not in lq:
            lq[method.scale] = clip.lq(qp, method.scale)
        frames = lq[method.scale]
        if len(frames) != len(target):
            raise InputError(f"clip {clip.id}: {len(frames)} input frames at {qp_label(qp)} x{method.scale} but "
                             f"{len(target)} HDR frames")
        _score_frames(result, method, clip, qp, frames, target, indices, sample, bar)
    if sample is not None:
        result.samples.append(sample)


def run_benchmark(clips: list[TestClip], methods: list[Method], qps: list[int | None] | None, metrics: list[str],
                  max_frames: int | None = None, report_frames: int = 3, report_qp: int | None = None,
                  progress: bool = True, split: str = "test", data_dir: str = "", device: str = "cpu",
                  notes: list[str] | None = None, task: str = "itm") -> BenchResult:
    """Score every method on every evaluated frame of every clip at every QP (None in qps: the uncoded input).

    task "sr-itm": every method takes the input at one scale S > 1 (bicubic + classical, SR models) and is
    scored against the full-size target; the sample frames then show that x`S` input.
    """
    qps = _check_qps(clips, qps)
    if not methods:
        raise InputError("nothing to evaluate: no method or model with weights")
    resolve(metrics)
    plan, sample_qp = _report_plan(clips, qps, report_frames, report_qp)
    scale = max(m.scale for m in methods) if task == "sr-itm" else 1
    for qp in qps:
        if scale > 1 and not any(scale in c.scales(qp) for c in clips):
            have = sorted({s for c in clips for s in c.scales(qp)})
            raise InputError(f"the data has no x{scale} {'uncoded SDR' if qp is None else qp_label(qp)} input "
                             f"(it has x{', x'.join(map(str, have)) or ' none'}); build the set with that scale")
    result = BenchResult([], methods, qps, list(metrics), {m.name: [] for m in methods}, list(notes or []), [],
                         len(clips), None, split, str(data_dir), device, task, scale)
    skipped: set = set()
    total = sum(len(pick_frames(c.frame_count(), max_frames)) * len([q for q in qps if c.has_input(q)])
                for c in clips)
    bar = tqdm(total=total * len(methods), unit="frame", desc="benchmark", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.5)
    try:
        for clip in clips:
            target = clip.hdr()
            indices = pick_frames(len(target), max_frames)
            result.frame_size = result.frame_size or (target[0].shape[1], target[0].shape[0])
            for qp in qps:
                if not clip.has_input(qp):
                    result.notes.append(f"clip {clip.id} has no {qp_label(qp)} input: skipped there")
                    bar.update(len(indices) * len(methods))
                    continue
                sample = None
                if clip.id in plan and qp == sample_qp:
                    i = indices[len(indices) // 2]
                    shown = scale if scale in clip.scales(qp) else 1
                    sample = Sample(clip.id, clip.degradation, qp, i, clip.lq(qp, shown)[i], target[i])
                _run_qp(result, clip, qp, target, indices, sample, skipped, bar)
    finally:
        bar.close()
    if not result.rows:
        raise InputError("no frame was evaluated (every method was skipped; see the notes)")
    return result
