"""Every method on every frame at every QP: row counts, skipped SR inputs, and the classical near-exact inverse."""

from __future__ import annotations

import numpy as np
import pytest
from bench_fixture import QPS

from sdr2hdr.bench.methods import Method, classical_method
from sdr2hdr.bench.report import Summary
from sdr2hdr.bench.run import pick_frames, run_benchmark
from sdr2hdr.data.split import load_split
from sdr2hdr.errors import InputError


def _upscaler(scale: int) -> Method:
    """A stand-in SR method: nearest upscaling of its LQ input through BT.2408 (no model needed)."""
    inner = classical_method("bt2408")

    def run(frames, i):
        return inner.run([np.repeat(np.repeat(frames[i], scale, 0), scale, 1)], 0)[0]

    return Method(f"up_x{scale}", "model", f"up x{scale}", 0, scale, 1, "test", run)


def test_pick_frames_spreads_evenly():
    assert pick_frames(10, None) == list(range(10))
    assert pick_frames(10, 3) == [0, 4, 9] or pick_frames(10, 3) == [0, 5, 9]
    assert pick_frames(2, 5) == [0, 1]


@pytest.fixture(scope="module")
def result(tiny_set):
    clips = load_split(tiny_set)
    methods = [classical_method(m) for m in ("bt2408", "bt2446a", "bt2446c")] + [_upscaler(2), _upscaler(4)]
    return run_benchmark(clips, methods, None, ["psnr", "delta_e_itp"], max_frames=2, report_frames=2,
                         progress=False)


def test_every_method_scores_every_clip_qp_and_frame_sr_inputs_missing_are_skipped(result):
    # 2 clips x 2 QPs x 2 frames for 4 methods; the x4 stand-in is skipped: the set has no x4 frames
    assert len(result.rows) == 2 * len(QPS) * 2 * 4
    assert {r["method"] for r in result.rows} == {"bt2408", "bt2446a", "bt2446c", "up_x2"}
    assert any("up_x4 skipped: the data has no x4 LQ frames" in n for n in result.notes)
    assert {r["degradation"] for r in result.rows} == {"bt2446c", "hable"}
    assert all(np.isfinite(r["psnr"]) and r["ms"] >= 0 for r in result.rows)


def test_bt2446c_inverse_is_nearly_exact_on_clips_made_with_bt2446c_forward(result):
    s = Summary(result)
    own = s.get("bt2446c", "psnr", "bt2446c", QPS[0])
    assert own > 35.0, own
    # and well above the same inverse on a clip made with another curve, and above the other mappings there
    assert own > s.get("bt2446c", "psnr", "hable", QPS[0]) + 10.0
    assert own > max(s.get(m, "psnr", "bt2446c", QPS[0]) for m in ("bt2408", "bt2446a")) + 5.0
    assert s.get("bt2446c", "delta_e_itp", "bt2446c") < 10.0


def test_report_samples_hold_input_target_and_every_output(result):
    assert len(result.samples) == 2
    sample = result.samples[0]
    assert sample.qp == max(QPS) or sample.qp in QPS
    assert set(sample.outputs) == {"bt2408", "bt2446a", "bt2446c", "up_x2"}
    assert sample.sdr_input.shape == sample.target.shape


def test_a_qp_the_data_lacks_is_refused(tiny_set):
    with pytest.raises(InputError, match="QP 47 is not in the data"):
        run_benchmark(load_split(tiny_set), [classical_method("bt2408")], [47], ["psnr"], progress=False)
