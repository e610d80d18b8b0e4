"""The held-out-curve protocol: the set (data.heldout.build_heldout) and its scoring (bench.heldout.run_heldout)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from bench_fixture import HEIGHT, WIDTH, make_dataset
from test_bench_cli import _cli

from sdr2hdr.bench.heldout import CLASSICAL, LEARNED, flicker, run_heldout
from sdr2hdr.bench.methods import bicubic_method
from sdr2hdr.color import pq_eotf
from sdr2hdr.data import heldout as heldout_mod
from sdr2hdr.data.datasets import BuiltSet
from sdr2hdr.data.degrade import TMO_NAMES, draw_tmo, sdr_encode
from sdr2hdr.data.heldout import CURVES, HELDOUT_CURVES, _seed, build_heldout
from sdr2hdr.data.resize import imresize
from sdr2hdr.data.split import load_split
from sdr2hdr.errors import InputError
from sdr2hdr.io import read_png
from sdr2hdr.io.images import file_sha256
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights
from sdr2hdr.tonemap import HELDOUT_TMOS

QPS = (27, 37)
FRAMES = 3
SR_SCALES = (2, 4)


@pytest.fixture(scope="module")
def source_set(tmp_path_factory) -> Path:
    """A built set with one test clip (4 frames) and one train clip."""
    return make_dataset(tmp_path_factory.mktemp("heldout_src") / "set", tmos=("hable",), qps=(37,))


@pytest.fixture(scope="module")
def heldout_set(source_set, tmp_path_factory) -> Path:
    return build_heldout(source_set, tmp_path_factory.mktemp("heldout") / "set", qps=QPS, frames=FRAMES,
                         progress=False)


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the set ---------------------------------------------------------------------------------------------------

def test_curves_are_the_standard_ones_then_the_unseen_ones():
    assert CURVES == TMO_NAMES + ("aces", "log_shoulder", "agx")
    assert set(HELDOUT_CURVES) == set(HELDOUT_TMOS)


def test_manifest_lists_every_test_clip_through_every_curve(source_set, heldout_set):
    m = _manifest(heldout_set)
    (base,) = load_split(source_set, "test")
    assert m["kind"] == "held-out curves" and m["curves"] == list(CURVES)
    assert m["qps"] == list(QPS) and m["frames"] == FRAMES
    assert m["splits"]["train"] == []  # nothing of the source set's training split
    assert sorted(m["splits"]["test"]) == sorted(f"{base.id}-{c}" for c in CURVES)
    for entry in m["clips"].values():
        assert entry["split"] == "test" and entry["source"] == base.source
        assert entry["sha256"] == file_sha256(heldout_set / entry["manifest"])
    BuiltSet(heldout_set, "test")  # readable as any built set (hashes checked there)


def test_each_clip_names_its_curve_and_shares_the_target(source_set, heldout_set):
    (base,) = load_split(source_set, "test")
    target = base.hdr()[:FRAMES]
    clips = {c.degradation: c for c in load_split(heldout_set, "test")}
    assert set(clips) == set(CURVES)
    for curve, clip in clips.items():
        rec = clip.record
        assert rec["tmo"]["name"] == curve and rec["base_clip"] == base.id
        assert rec["held_out_curve"] is (curve in HELDOUT_CURVES)
        assert clip.qps == list(QPS) and clip.frame_count() == FRAMES
        for a, b in zip(clip.hdr(), target):  # the same 16-bit target frames, written once under base/
            np.testing.assert_array_equal(a, b)
        if curve in HELDOUT_CURVES:
            assert rec["tmo"]["params"] == {}
        else:  # the parameters draw_tmo gives with the clip's own seed
            _, params = draw_tmo(np.random.default_rng(_seed(base.id, curve)), {curve: 1.0})
            assert rec["tmo"]["params"] == params
    assert len(list((heldout_set / "base").rglob("*.png"))) == FRAMES


@pytest.mark.parametrize("curve", sorted(HELDOUT_TMOS))
def test_unseen_curve_sdr_is_that_curve_of_the_target(heldout_set, curve):
    clip = next(c for c in load_split(heldout_set, "test") if c.degradation == curve)
    for hq, hdr in zip(clip.sdr(), clip.hdr()):
        want = sdr_encode(np.asarray(HELDOUT_TMOS[curve](np.asarray(pq_eotf(hdr), dtype=np.float32)),
                                     dtype=np.float32))
        np.testing.assert_array_equal(np.rint(hq * 255).astype(np.uint8), want)


def test_lq_is_the_sdr_through_x265_worse_at_the_higher_qp(heldout_set):
    for clip in load_split(heldout_set, "test"):
        sdr = np.stack(clip.sdr())
        err = {qp: np.abs(np.stack(clip.lq(qp)) - sdr).mean() for qp in QPS}
        assert 0 < err[27] < err[37], (clip.degradation, err)
        lq, bits = read_png(clip.root / clip.lq_files[(37, 1)][0])
        assert bits == 8 and lq.shape == sdr.shape[1:]


def test_rebuild_skips_finished_clips_and_remakes_missing_ones_identically(source_set, heldout_set, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(heldout_set, copy)
    before = _tree(copy)
    victim = copy / "clips" / next(c for c in _manifest(copy)["clips"] if c.endswith("-aces"))
    shutil.rmtree(victim)
    build_heldout(source_set, copy, qps=QPS, frames=FRAMES, progress=False)
    assert _tree(copy) == before


# --- the SR-ITM inputs (sdr/x2, sdr/x4) ------------------------------------------------------------------------

def _sdr8(root: Path, rel: str) -> np.ndarray:
    px = cv2.imread(str(root / rel), cv2.IMREAD_UNCHANGED)
    assert px is not None and px.dtype == np.uint8, rel
    return px[..., ::-1]


def test_sr_inputs_are_the_matlab_bicubic_downscale_of_the_uncoded_sdr(heldout_set):
    m = _manifest(heldout_set)
    assert m["scales"] == [1, 2, 4] and "bicubic" in m["downscale"]
    for clip in load_split(heldout_set, "test"):
        assert clip.scales(None) == [1, 2, 4] and clip.qps == list(QPS)  # coded input at x1 only
        assert all(s == 1 for _, s in clip.lq_files)
        x1 = [_sdr8(clip.root, r) for r in clip.sdr_files]
        assert x1[0].shape == (HEIGHT, WIDTH, 3)
        for s in SR_SCALES:
            assert clip.sdr_scaled[s] == [f"sdr/x{s}/{i:03d}.png" for i in range(FRAMES)]
            for rel, hq in zip(clip.sdr_scaled[s], x1):
                px = _sdr8(clip.root, rel)
                assert px.shape == (HEIGHT // s, WIDTH // s, 3)
                np.testing.assert_array_equal(px, imresize(hq, 1.0 / s))
            assert clip.lq(None, s)[0].shape == (HEIGHT // s, WIDTH // s, 3)
        assert clip.hdr()[0].shape == (HEIGHT, WIDTH, 3)  # the target stays full size


def _as_first_version(root: Path) -> None:
    """Make a held-out set look as build_heldout wrote it before the SR scales: x1 SDR only."""
    m = _manifest(root)
    for entry in m["clips"].values():
        path = root / entry["manifest"]
        rec = json.loads(path.read_text())
        for s in SR_SCALES:
            del rec["files"]["sdr"][f"x{s}"]
            shutil.rmtree(path.parent / "sdr" / f"x{s}")
        path.write_text(json.dumps(rec, indent=1))
        entry["sha256"] = file_sha256(path)
    del m["scales"], m["downscale"]
    (root / "manifest.json").write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")


def test_rerun_adds_the_sr_inputs_to_an_old_set_without_encoding_anything(source_set, heldout_set, tmp_path,
                                                                          monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(heldout_set, copy)
    before = _tree(copy)
    _as_first_version(copy)
    assert not list(copy.rglob("x2")) and all(c.scales(None) == [1] for c in load_split(copy, "test"))

    def refuse(*a, **k):
        raise AssertionError("a clip already built was made again")

    monkeypatch.setattr(heldout_mod, "x265_roundtrip", refuse)
    monkeypatch.setattr(heldout_mod, "_sdr", refuse)
    # the command as a user reruns it, here with x2 alone: x2 added, the set says it has x1 and x2
    assert _cli_data("heldout", "--data", source_set, "--out", copy, "--qps", "27,37", "--frames", FRAMES,
                     "--scales", "1,2", "--quiet") == 0
    assert _manifest(copy)["scales"] == [1, 2]
    assert all(c.scales(None) == [1, 2] for c in load_split(copy, "test"))
    assert not list(copy.rglob("x4"))
    # then the default scales: the set is byte for byte the one a fresh build writes
    build_heldout(source_set, copy, qps=QPS, frames=FRAMES, progress=False)
    assert _tree(copy) == before
    # a listed frame gone from disk is made again; nothing else changes
    (copy / "clips" / next(iter(_manifest(copy)["clips"])) / "sdr" / "x4" / "001.png").unlink()
    build_heldout(source_set, copy, qps=QPS, frames=FRAMES, progress=False)
    assert _tree(copy) == before


def _cli_data(*argv) -> int:
    from sdr2hdr import cli

    args = cli.build_parser().parse_args([str(a) for a in argv] if argv[0] == "data" else ["data", *map(str, argv)])
    return args.func(args)


def test_scales_1_writes_no_sr_inputs_and_a_bad_scale_is_refused(source_set, tmp_path):
    out = build_heldout(source_set, tmp_path / "x1", qps=(37,), frames=2, curves=("aces",), scales=(1,),
                        progress=False)
    assert _manifest(out)["scales"] == [1] and not list((out / "clips").rglob("x2"))
    (clip,) = load_split(out, "test")
    assert clip.scales(None) == [1]
    with pytest.raises(InputError, match="a scale is 1 or more"):
        build_heldout(source_set, tmp_path / "bad", qps=(37,), frames=2, curves=("aces",), scales=(0, 2),
                      progress=False)


@pytest.fixture(scope="module")
def sr_bench(heldout_set, tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("sr_heldout")
    weights = save_weights(create("gpgmnet_x2"), d / "g.safetensors")
    assert _cli("benchmark", "--data", heldout_set, "--task", "sr-itm", "--scale", "2", "--models",
                f"gpgmnet_x2={weights}", "--max-frames", "1", "--report-frames", "0", "--out", d / "x2",
                "--device", "cpu", "--quiet") == 0
    return d / "x2"


def test_sr_itm_benchmark_runs_on_the_heldout_set_per_curve(heldout_set, sr_bench):
    with open(sr_bench / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    methods = ["bicubic+bt2408", "bicubic+bt2446a", "bicubic+bt2446c", "gpgmnet_x2"]
    assert {r["qp"] for r in rows} == {"uncoded"}
    for m in methods:
        assert sorted(r["degradation"] for r in rows if r["method"] == m) == sorted(CURVES)
    # one row recomputed: bicubic x2 of sdr/x2, the classical mapping, PSNR against the full-size HDR
    clip = next(c for c in load_split(heldout_set, "test") if c.degradation == "aces")
    row = next(r for r in rows if r["method"] == "bicubic+bt2446a" and r["clip"] == clip.id)
    i = int(row["frame"])
    pred = bicubic_method("bt2446a", 2).run(clip.lq(None, 2), i)[0]
    target = clip.hdr()[i]
    assert pred.shape == target.shape == (HEIGHT, WIDTH, 3)
    mse = float(np.mean((pred.astype(np.float64) - target) ** 2))
    assert float(row["psnr"]) == pytest.approx(-10 * np.log10(mse), abs=1e-2)
    md = (sr_bench / "sr_itm.md").read_text()
    assert "## By degradation model" in md
    table = [line for line in md.split("## By degradation model")[1].splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(CURVES) + 1  # header, one row per curve, all
    for curve in HELDOUT_CURVES:
        line = next(x for x in table if x.startswith(f"| {curve} (never trained on) |"))
        assert "nan" not in line
    assert table[-1].startswith("| all |") and "gpgmnet_x2 ΔPSNR vs best fixed / vs best for it" in table[0]


def test_sr_itm_x4_reads_the_heldout_x4_input(heldout_set, tmp_path):
    assert _cli("benchmark", "--data", heldout_set, "--task", "sr-itm", "--scale", "4", "--models",
                "--methods", "bt2408", "--metrics", "psnr", "--max-frames", "1", "--report-frames", "0",
                "--out", tmp_path, "--quiet") == 0
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(CURVES) and {r["method"] for r in rows} == {"bicubic+bt2408"}
    assert "uncoded x4 SDR" in (tmp_path / "sr_itm.md").read_text()


# --- scoring ---------------------------------------------------------------------------------------------------

def test_flicker_is_zero_when_the_output_follows_the_target():
    rng = np.random.default_rng(0)
    target = [rng.uniform(0.2, 0.6, (16, 16, 3)).astype(np.float32) for _ in range(4)]
    assert flicker(target, target) == (0.0, 0.0)
    # a constant offset does not flicker; a frame that jumps does, by its jump, in 10-bit codes
    assert flicker([t + 0.05 for t in target], target) == pytest.approx((0.0, 0.0), abs=1e-3)
    flat = [np.full((16, 16, 3), 0.5, np.float32) for _ in range(3)]
    jumpy = [flat[0], flat[1] + 0.1, flat[2]]
    fm, fp = flicker(jumpy, flat)
    assert fm == pytest.approx(0.1 * 1023, rel=1e-4) and fp == pytest.approx(0.1 * 1023, rel=1e-4)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Default weights: seeded random (the estimate varies); LOCO weights for hable: the untrained model, whose
    zero output layer makes it the BT.2408 direct mapping with SDR white at 202.8 cd/m2."""
    d = tmp_path_factory.mktemp("heldout_w")
    torch.manual_seed(0)
    model = create("adaptive_itm")
    with torch.no_grad():
        torch.nn.init.normal_(model.estimator.mlp[-1].weight, std=0.05)
        torch.nn.init.normal_(model.estimator.mlp[-1].bias, std=0.3)
    default = save_weights(model, d / "default.safetensors", {"model": "adaptive_itm"})
    loco = d / "loco"
    loco.mkdir()
    save_weights(create("adaptive_itm"), loco / "hable.safetensors", {"model": "adaptive_itm"})
    return default, loco


@pytest.fixture(scope="module")
def result(heldout_set, weights):
    default, loco = weights
    return run_heldout(heldout_set, "adaptive_itm", default, loco, qps=(37,), progress=False)


def test_rows_cover_every_curve_method_and_frame(result):
    assert result.curves == list(CURVES) and result.unseen == ["aces", "log_shoulder", "agx"]
    assert result.qps == [37]
    learned_curves = {r["curve"] for r in result.rows if r["method"] == LEARNED}
    assert learned_curves == {"hable", "aces", "log_shoulder", "agx"}  # LOCO weights for hable, default for unseen
    for m in CLASSICAL:
        assert len([r for r in result.rows if r["method"] == m]) == len(CURVES) * FRAMES
    for r in result.rows:
        assert np.isfinite(r["psnr"]) and np.isfinite(r["delta_e_itp"]) and r["flicker_mean"] >= 0
    missing = [c for c in TMO_NAMES if c != "hable"]
    for c in missing:
        assert any(f"no leave-one-curve-out weights for {c}" in n for n in result.notes)


def test_loco_weights_are_used_for_their_curve(result):
    # hable's LOCO weights are the BT.2408 direct mapping (white 202.8 instead of 203): the same scores
    def psnr(method, curve):
        return np.mean([r["psnr"] for r in result.rows if r["method"] == method and r["curve"] == curve])

    assert psnr(LEARNED, "hable") == pytest.approx(psnr("bt2408", "hable"), abs=0.1)
    assert abs(psnr(LEARNED, "aces") - psnr("bt2408", "aces")) > 0.2  # default weights elsewhere


def test_summary_has_one_row_per_curve_and_a_finite_mean(result):
    rows = result.summary(37)
    assert [r["curve"] for r in rows] == list(CURVES) + ["mean"]
    by = {r["curve"]: r for r in rows}
    fixed = result.best_fixed(37)
    assert fixed in CLASSICAL
    for curve in CURVES:
        r = by[curve]
        best = max(CLASSICAL, key=lambda m: r[f"{m}_psnr"])
        assert r["best_classical"] == best and r["best_classical_psnr"] == pytest.approx(r[f"{best}_psnr"])
        assert r["fixed"] == fixed
    for curve in ("hable", "aces", "log_shoulder", "agx"):
        r = by[curve]
        assert r["gap_to_best"] == pytest.approx(r[f"{LEARNED}_psnr"] - r["best_classical_psnr"])
        assert r["gap_to_fixed"] == pytest.approx(r[f"{LEARNED}_psnr"] - r[f"{fixed}_psnr"])
    # the mean row is the mean over the curves the model was held out on (here hable, aces, log_shoulder)
    mean = by["mean"]
    held = ("hable", "aces", "log_shoulder", "agx")
    assert np.isfinite(mean[f"{LEARNED}_psnr"]) and np.isfinite(mean["gap_to_fixed"])
    assert mean[f"{LEARNED}_psnr"] == pytest.approx(np.mean([by[c][f"{LEARNED}_psnr"] for c in held]))
    assert mean["bt2446c_psnr"] == pytest.approx(np.mean([by[c]["bt2446c_psnr"] for c in held]))
    # fixed mapping: the one with the best mean over all curves
    means = {m: np.mean([by[c][f"{m}_psnr"] for c in CURVES]) for m in CLASSICAL}
    assert fixed == max(means, key=means.get)


def test_write_gives_the_table_csv_and_plot(result, tmp_path):
    paths = result.write(tmp_path)
    assert [p.name for p in paths] == ["heldout.csv", "heldout.md", "heldout_psnr.png"]
    md = (tmp_path / "heldout.md").read_text()
    assert "## QP 37" in md and "Set: " in md
    every, rest = md.split("As is, the held-out protocol's table")
    as_is, shape = rest.split("Shape and level apart")
    table = [line for line in as_is.splitlines() if line.startswith("| ")]
    # first the as-is table over every curve: one row per curve and their mean, no NaN (every method on every curve)
    every = [line for line in every.splitlines() if line.startswith("| ")]
    assert len(every) == 1 + len(CURVES) + 1 and every[-1].startswith("| mean of all curves")
    assert len(table) == 1 + len(CURVES) + 1  # header, one row per curve, the mean
    assert table[-1].startswith("| mean of held-out curves") and "nan" not in table[-1]
    # the second table: aligned scores and level errors, one row per curve and the mean of all curves
    aligned = [line for line in shape.splitlines() if line.startswith("| ")]
    assert len(aligned) == 1 + len(CURVES) + 1 and aligned[-1].startswith("| mean of all curves")
    assert "aligned PSNR" in aligned[0] and "level error, stops" in aligned[0]
    assert "nan" not in next(line for line in table if line.startswith("| aces"))
    assert "aces (unseen)" in md and "hable (left out)" in md and "mean of held-out curves" in md
    assert "no leave-one-curve-out weights for bt2446a" in md
    img = cv2.imread(str(tmp_path / "plots" / "heldout_psnr.png"))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 400
    lines = (tmp_path / "heldout.csv").read_text().splitlines()
    assert len(lines) == 1 + len(result.rows)
