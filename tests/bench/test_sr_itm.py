"""`sdr2hdr benchmark --task sr-itm`: x2 / x4 input (uncoded, or x265-coded), full-size target, bicubic + classical."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from bench_fixture import HEIGHT, WIDTH, make_dataset
from clip_tools import run_cli
from test_bench_cli import _cli

from sdr2hdr.bench.methods import bicubic_method, classical_method
from sdr2hdr.data.resize import imresize
from sdr2hdr.data.split import load_split
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import read_png
from sdr2hdr.metrics import METRICS
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights


@pytest.fixture(scope="module")
def sr_set(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("sr") / "set", frames=2, qps=(37,), scales=(1, 2, 4), seed=3)


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _psnr(pred: np.ndarray, ref: np.ndarray) -> float:
    t = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None] for a in (pred, ref)]
    return float(METRICS["psnr"](*t).mean())


def test_the_uncoded_input_is_the_sdr_at_that_scale(sr_set):
    clip = load_split(sr_set)[0]
    assert clip.has_input(None) and clip.scales(None) == [1, 2, 4] and clip.qps == [37]
    frames = clip.lq(None, 4)
    assert frames[0].shape == (HEIGHT // 4, WIDTH // 4, 3)
    assert np.array_equal(frames[1], read_png(clip.root / "sdr/x4/001.png")[0])
    with pytest.raises(InputError, match="no uncoded SDR frames at scale x3"):
        clip.lq(None, 3)


def test_bicubic_method_is_matlab_bicubic_then_the_classical_mapping():
    frame = np.random.default_rng(0).uniform(0.05, 0.95, (20, 24, 3)).astype(np.float32)
    m = bicubic_method("bt2446c", 2)
    assert (m.name, m.kind, m.scale) == ("bicubic+bt2446c", "classical", 2) and "a = -0.5" in m.note
    out, secs = m.run([frame], 0)
    want = classical_method("bt2446c").run([np.clip(imresize(frame, scale=2), 0, 1)], 0)[0]
    assert out.shape == (40, 48, 3) and secs > 0
    np.testing.assert_array_equal(out, want)
    # a flat frame stays flat through the cubic kernel: the mapping of that one colour everywhere
    flat, _ = m.run([np.full((8, 8, 3), 0.5, np.float32)], 0)
    single = classical_method("bt2446c").run([np.full((1, 1, 3), 0.5, np.float32)], 0)[0]
    np.testing.assert_allclose(flat, np.broadcast_to(single, flat.shape), atol=1e-6)


@pytest.fixture(scope="module")
def x2_out(sr_set, tmp_path_factory):
    torch.manual_seed(0)
    weights = save_weights(create("gpgmnet_x2"), tmp_path_factory.mktemp("w") / "g.safetensors")
    out = tmp_path_factory.mktemp("x2")
    assert _cli("benchmark", "--data", sr_set, "--task", "sr-itm", "--scale", "2", "--models",
                f"gpgmnet_x2={weights}", "--max-frames", "1", "--report-frames", "1", "--out", out,
                "--device", "cpu", "--quiet") == 0
    return out


def test_sr_itm_x2_table_has_the_papers_metrics_and_the_gap_to_the_best_classical(x2_out):
    rows = {r["method"]: r for r in _csv(x2_out / "sr_itm.csv")}
    assert list(rows) == ["bicubic+bt2408", "bicubic+bt2446a", "bicubic+bt2446c", "gpgmnet_x2"]
    assert all(r["scale"] == "2" and r["input"] == "uncoded" for r in rows.values())
    classical = {k: float(r["psnr"]) for k, r in rows.items() if r["kind"] == "classical"}
    best = max(classical, key=classical.get)
    assert all(r["best_classical"] == best for r in rows.values())
    for r in rows.values():
        assert float(r["psnr_gap_to_best_classical"]) == pytest.approx(float(r["psnr"]) - classical[best], abs=1e-3)
    assert float(rows["gpgmnet_x2"]["params"]) > 1e5 and float(rows["gpgmnet_x2"]["ms_per_frame"]) > 0
    md = (x2_out / "sr_itm.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| Method"))
    for col in ("PSNR", "SSIM", "mPSNR", "ΔE ITP", "ms/frame", "ΔPSNR vs best classical"):
        assert f" {col} " in header
    assert "| Best fixed classical: Bicubic x2 + " in md and "uncoded x2 SDR" in md
    assert "## SR-ITM x2" in (x2_out / "results.md").read_text()


def test_sr_itm_scores_the_full_size_target_from_the_x2_input(sr_set, x2_out):
    """Recompute one row of results.csv here: MATLAB bicubic x2 of sdr/x2, bt2446c, PSNR against the HDR."""
    rows = _csv(x2_out / "results.csv")
    assert {r["qp"] for r in rows} == {"uncoded"}
    clip = load_split(sr_set)[0]
    row = next(r for r in rows if r["method"] == "bicubic+bt2446c" and r["clip"] == clip.id)
    i = int(row["frame"])
    pred = bicubic_method("bt2446c", 2).run(clip.lq(None, 2), i)[0]
    target = clip.hdr()[i]
    assert pred.shape == target.shape == (HEIGHT, WIDTH, 3)
    assert float(row["psnr"]) == pytest.approx(_psnr(pred, target), abs=1e-3)
    # the clip was made with BT.2446 C: its inverse after bicubic is close, far closer than an untrained net
    model = next(r for r in rows if r["method"] == "gpgmnet_x2" and r["clip"] == clip.id)
    assert float(row["psnr"]) > 30 and float(row["psnr"]) > float(model["psnr"]) + 5


def test_sr_itm_x4_on_coded_input(sr_set, tmp_path):
    out = tmp_path / "x4"
    assert _cli("benchmark", "--data", sr_set, "--task", "sr-itm", "--scale", "4", "--input", "coded", "--qps",
                "37", "--models", "--methods", "bt2446c", "--metrics", "psnr", "--max-frames", "1",
                "--report-frames", "0", "--out", out, "--quiet") == 0
    rows = _csv(out / "results.csv")
    assert {(r["method"], r["qp"]) for r in rows} == {("bicubic+bt2446c", "37")}
    clip = load_split(sr_set)[1]
    row = next(r for r in rows if r["clip"] == clip.id)
    pred = bicubic_method("bt2446c", 4).run(clip.lq(37, 4), int(row["frame"]))[0]
    assert float(row["psnr"]) == pytest.approx(_psnr(pred, clip.hdr()[int(row["frame"])]), abs=1e-3)
    assert "x265-coded at QP37" in (out / "sr_itm.md").read_text()


@pytest.mark.parametrize("argv,message", [
    ((), "needs --scale 2 or --scale 4"),
    (("--scale", "2", "--models", "gpgmnet_x4"), "gpgmnet_x4 takes x4 input"),
    (("--scale", "2", "--qps", "37"), "--qps goes with --input coded"),
    (("--scale", "2", "--last", "3"), "go with --checkpoints"),
    (("--scale", "2", "--models", "deep_sr_itm_x2=nope.safetensors"), "no such weights file"),
])
def test_sr_itm_refuses_what_does_not_fit(sr_set, argv, message):
    with pytest.raises(InputError, match=message):
        _cli("benchmark", "--data", sr_set, "--task", "sr-itm", *argv, "--quiet")


def test_a_scale_the_data_lacks_is_one_line_and_status_2(tiny_set, tmp_path):
    res = run_cli("benchmark", "--data", tiny_set, "--task", "sr-itm", "--scale", "4", "--models", "--out",
                  tmp_path / "o", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no x4 uncoded SDR input (it has x1, x2)" in lines[0], res.stderr
    assert not (tmp_path / "o").exists()
