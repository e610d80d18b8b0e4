"""Every method on every frame at every QP: the rows and their scores, skipped SR inputs, the report samples,
and the classical near-exact inverse."""

from __future__ import annotations

import numpy as np
import pytest
from bench_fixture import QPS

from sdr2hdr.bench.methods import Method, classical_method
from sdr2hdr.bench.report import Summary
from sdr2hdr.bench.run import pick_frames, run_benchmark
from sdr2hdr.bench.scores import score
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
    assert pick_frames(10, 3) == [0, 4, 9]  # 0, 4.5, 9 rounded half to even
    assert pick_frames(9, 3) == [0, 4, 8]
    assert pick_frames(100, 4) == [0, 33, 66, 99]
    assert pick_frames(4, 2) == [0, 3]
    assert pick_frames(2, 5) == [0, 1]


@pytest.fixture(scope="module")
def result(tiny_set):
    clips = load_split(tiny_set)
    methods = [classical_method(m) for m in ("bt2408", "bt2446a", "bt2446c")] + [_upscaler(2), _upscaler(4)]
    return run_benchmark(clips, methods, None, ["psnr", "delta_e_itp"], max_frames=2, report_frames=2,
                         progress=False)


def test_every_method_scores_every_clip_qp_and_frame_sr_inputs_missing_are_skipped(result, tiny_set):
    clips = load_split(tiny_set)
    assert [c.degradation for c in clips] == ["bt2446c", "hable"]
    # each (method, clip, QP, frame) exactly once, the frames the first and last of each 4-frame clip; the x4
    # stand-in is skipped with a note: the set has no x4 frames
    want = sorted((m, c.id, qp, i) for m in ("bt2408", "bt2446a", "bt2446c", "up_x2") for c in clips
                  for qp in QPS for i in (0, 3))
    assert sorted((r["method"], r["clip"], r["qp"], r["frame"]) for r in result.rows) == want
    assert [n for n in result.notes if "skipped" in n] == ["up_x4 skipped: the data has no x4 LQ frames"]
    kinds = {c.id: c.degradation for c in clips}
    assert all(r["degradation"] == kinds[r["clip"]] for r in result.rows)
    assert all(r["ms"] >= 0 for r in result.rows)
    assert len(result.seconds["bt2408"]) == len(clips) * len(QPS) * 2 and result.seconds["up_x4"] == []


def test_a_row_holds_the_scores_of_that_methods_output_on_that_frame(result, tiny_set):
    """A row's scores are the metrics of the method's output for its frame against its target, recomputed here."""
    clip = load_split(tiny_set)[1]
    pred, _ = classical_method("bt2446a").run(clip.lq(QPS[1]), 3)
    want = score(pred, clip.hdr()[3], ["psnr", "delta_e_itp"])
    key = ("bt2446a", clip.id, QPS[1], 3)
    (row,) = [r for r in result.rows if (r["method"], r["clip"], r["qp"], r["frame"]) == key]
    assert np.isfinite(want["psnr"]) and np.isfinite(want["delta_e_itp"])
    assert (row["psnr"], row["delta_e_itp"]) == pytest.approx((want["psnr"], want["delta_e_itp"]), rel=1e-6)


def test_bt2446c_inverse_is_nearly_exact_on_clips_made_with_bt2446c_forward(result):
    s = Summary(result)
    own = s.get("bt2446c", "psnr", "bt2446c", QPS[0])
    assert own > 35.0, own
    # and well above the same inverse on a clip made with another curve, and above the other mappings there
    assert own > s.get("bt2446c", "psnr", "hable", QPS[0]) + 10.0
    assert own > max(s.get(m, "psnr", "bt2446c", QPS[0]) for m in ("bt2408", "bt2446a")) + 5.0
    assert s.get("bt2446c", "delta_e_itp", "bt2446c") < 10.0


def test_report_samples_hold_input_target_and_every_output(result, tiny_set):
    # one sample per degradation model, at QP 37, the middle of the evaluated frames (0, 3)
    clips = load_split(tiny_set)
    assert [(s.clip, s.degradation, s.qp, s.frame) for s in result.samples] == \
        [(c.id, c.degradation, 37, 3) for c in clips]
    sample, clip = result.samples[0], clips[0]
    np.testing.assert_array_equal(sample.sdr_input, clip.lq(37)[3])
    np.testing.assert_array_equal(sample.target, clip.hdr()[3])
    assert set(sample.outputs) == {"bt2408", "bt2446a", "bt2446c", "up_x2"}
    np.testing.assert_array_equal(sample.outputs["bt2446c"], classical_method("bt2446c").run(clip.lq(37), 3)[0])
    np.testing.assert_array_equal(sample.outputs["up_x2"], _upscaler(2).run(clip.lq(37, 2), 3)[0])


def test_a_qp_the_data_lacks_is_refused(tiny_set):
    with pytest.raises(InputError, match="QP 47 is not in the data"):
        run_benchmark(load_split(tiny_set), [classical_method("bt2408")], [47], ["psnr"], progress=False)
