"""Building a set: HDR levels, real motion, QP ordering, scales, determinism, splits, resume, bad input."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import sdr2hdr.data.build as build_mod
from sdr2hdr.color import pq_eotf
from sdr2hdr.data.build import build, plan
from sdr2hdr.data.camera import CameraPose, render
from sdr2hdr.data.degrade import master
from sdr2hdr.data.show import psnr8
from sdr2hdr.data.sources import discover, load_still
from sdr2hdr.errors import InputError

from .data_helpers import GREY, textured_exr, tiny_recipe


def _png(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]


def _clips(root: Path, source: str) -> list[dict]:
    manifest = json.loads((root / "manifest.json").read_text())
    return [json.loads((root / manifest["clips"][c]["manifest"]).read_text())
            for c in manifest["clips"] if manifest["clips"][c]["source"] == source]


def _tree(root: Path) -> dict[str, bytes]:
    skip = {"build_report.json"}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in skip and "cache" not in p.relative_to(root).parts}


def test_hq_hdr_png_is_16_bit_and_decodes_to_the_expected_nits(tiny_set):
    clip = _clips(tiny_set, "grey.exr")[0]
    px = cv2.imread(str(tiny_set / "clips" / clip["id"] / clip["files"]["hdr"][0]), cv2.IMREAD_UNCHANGED)
    assert px.dtype == np.uint16 and px.shape == (64, 64, 3)
    nits = np.asarray(pq_eotf(px.astype(np.float64) / 65535.0))
    expected = GREY * clip["exposure"]["gain"]  # grey card: its log-average lands on key_nits (stops fixed at 0)
    assert abs(expected - 36.54) < 1e-3
    np.testing.assert_allclose(nits, expected, rtol=2e-4)


def test_consecutive_frames_differ_by_the_camera_motion_and_not_by_noise(tiny_set, tiny_sources):
    clip = _clips(tiny_set, "photo.exr")[0]
    src = [s for s in discover(tiny_sources)[0] if s.id == "photo.exr"][0]
    img = load_still(src)
    cdir = tiny_set / "clips" / clip["id"]
    frames = [_png(cdir / f).astype(np.int64) for f in clip["files"]["hdr"]]
    for i, pose in enumerate(clip["camera"]["poses"]):
        # the stored frame is exactly the camera's view at the recorded pose, mastered: nothing random in it
        nits = render(img, CameraPose(**pose), (64, 64)) * clip["exposure"]["gain"]
        again = np.rint(master(nits, 1000.0, clip["mastering"]["source_peak_nits"]) * 65535.0)
        assert np.abs(again - frames[i]).max() <= 3
    steps = [np.abs(frames[i + 1] - frames[i]).mean() for i in range(len(frames) - 1)]
    assert min(steps) > 20  # the camera moves every frame (codes out of 65535)


def test_lq_at_qp42_is_further_from_hq_sdr_than_at_qp27(tiny_set):
    for clip in _clips(tiny_set, "photo.exr"):
        cdir = tiny_set / "clips" / clip["id"]
        hq = np.stack([_png(cdir / f) for f in clip["files"]["sdr"]["x1"]])
        lq = {q: np.stack([_png(cdir / f) for f in clip["files"]["lq"][f"qp{q}"]["x1"]]) for q in (27, 42)}
        assert psnr8(lq[42], hq) < psnr8(lq[27], hq)
        assert clip["compression"]["bitstream_bytes"]["qp42/x1"] < clip["compression"]["bitstream_bytes"]["qp27/x1"]


def test_x2_image_is_half_the_size_and_x4_a_quarter(tiny_set):
    clip = _clips(tiny_set, "photo.exr")[0]
    cdir = tiny_set / "clips" / clip["id"]
    assert _png(cdir / clip["files"]["sdr"]["x2"][0]).shape == (32, 32, 3)
    assert _png(cdir / clip["files"]["sdr"]["x4"][0]).shape == (16, 16, 3)
    assert _png(cdir / clip["files"]["lq"]["qp42"]["x2"][0]).shape == (32, 32, 3)


def test_manifest_records_the_degradation_and_checksums(tiny_set):
    clip = _clips(tiny_set, "photo.exr")[0]
    assert clip["tmo"]["name"] in ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera")
    assert clip["source"]["id"] == "photo.exr" and clip["licence"]
    assert {"start", "end"} <= set(clip["camera"]["path"]) and clip["compression"]["qps"] == [27, 42]
    cdir = tiny_set / "clips" / clip["id"]
    import hashlib

    for rel, digest in clip["checksums"].items():
        assert hashlib.sha256((cdir / rel).read_bytes()).hexdigest() == digest


def test_two_sources_never_share_a_split(tiny_set):
    manifest = json.loads((tiny_set / "manifest.json").read_text())
    split_of = {}
    for entry in manifest["clips"].values():
        split_of.setdefault(entry["source"], set()).add(entry["split"])
    assert all(len(s) == 1 for s in split_of.values())
    assert split_of["photo.exr"] != split_of["grey.exr"]
    assert set(manifest["splits"]["train"]).isdisjoint(manifest["splits"]["test"])


def test_a_duplicated_scene_stays_in_one_split(tmp_path):
    textured_exr(tmp_path / "a" / "scene.exr" if (tmp_path / "a").mkdir() is None else None, seed=1)
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "scene.exr", tmp_path / "b" / "same_scene.exr")
    for i in range(3):
        textured_exr(tmp_path / "a" / f"other{i}.exr", seed=10 + i)
    p = plan(tiny_recipe(test_fraction=0.5), tmp_path)
    assert p.groups["a/scene.exr"] == p.groups["b/same_scene.exr"]
    assert p.splits["a/scene.exr"] == p.splits["b/same_scene.exr"]
    assert len(set(p.groups.values())) == 4


def test_an_interrupted_build_resumes_without_redoing_finished_clips(tiny_sources, tiny_set, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    quiet = dict(workers=1, progress=False, log=lambda *_: None)
    first = build(tiny_sources, out, tiny_recipe(), max_clips=2, **quiet)
    assert not first.complete and first.built == 2 and not (out / "manifest.json").exists()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in (out / "clips").glob("*/clip.json")}
    assert len(finished) == 2

    calls = {"n": 0}
    real = build_mod.x265_roundtrip

    def interrupted(*a, **k):  # Ctrl-C in the middle of the third clip
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(build_mod, "x265_roundtrip", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(tiny_sources, out, tiny_recipe(), **quiet)
    monkeypatch.setattr(build_mod, "x265_roundtrip", real)
    assert sorted(p.name for p in (out / "clips").iterdir()) == sorted(finished)  # nothing half-written kept
    # a crash (kill -9) leaves a temporary directory behind: the next run must not trust it
    stale = out / "clips" / ".tmp-photo-exr-001-99999"
    (stale / "hdr").mkdir(parents=True)
    (stale / "hdr" / "000.png").write_bytes(b"half")

    final = build(tiny_sources, out, tiny_recipe(), **quiet)
    assert final.complete and final.resumed == 2 and final.built == final.total - 2
    assert not stale.exists()
    for cid, mtime in finished.items():
        assert (out / "clips" / cid / "clip.json").stat().st_mtime_ns == mtime
    assert _tree(out) == _tree(tiny_set)


def test_a_folder_built_with_another_recipe_is_refused(tiny_sources, tiny_set):
    with pytest.raises(InputError, match="different recipe"):
        build(tiny_sources, tiny_set, tiny_recipe(seed=4), workers=1, progress=False, log=lambda *_: None)


def _hdr10_video(path: Path, frames: int = 6, hw=(80, 96)) -> np.ndarray:
    from sdr2hdr.io import HDR10Writer

    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pqs = []
    writer = HDR10Writer(path, w, h, Fraction(1, 24), Fraction(24), qp=4, preset="ultrafast")
    for i in range(frames):
        pq = np.stack([0.3 + 0.3 * (xx + 2 * i) / w, 0.4 + 0.2 * yy / h, np.full_like(xx, 0.45)], axis=-1)
        pqs.append(pq)
        writer.write_pq(pq, i)
    writer.close()
    return np.stack(pqs)


def _sdr_video(path: Path) -> None:
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=24)
    vs.width, vs.height, vs.pix_fmt = 96, 80, "yuv420p"
    for i in range(6):
        f = av.VideoFrame.from_ndarray(np.full((80, 96, 3), 40 * i, np.uint8), format="rgb24").reformat(
            format="yuv420p")
        f.pts = i
        for pkt in vs.encode(f):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    out.close()


def test_bad_sources_are_named_and_skipped_and_hdr10_video_is_a_source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    textured_exr(src / "photo.exr")
    textured_exr(src / "small.exr", hw=(40, 50))
    (src / "broken.exr").write_bytes(b"\x76\x2f\x31\x01 not really an exr")
    cv2.imwrite(str(src / "sdr8.png"), np.zeros((80, 80, 3), np.uint8))
    (src / "notes.txt").write_text("ignored")
    _sdr_video(src / "sdr.mp4")
    pq = _hdr10_video(src / "hdr10.mkv")
    logs = []
    report = build(src, tmp_path / "out", tiny_recipe(clips_per_source={"train": 1, "test": 1}), workers=1,
                   progress=False, log=logs.append)
    reasons = dict(report.skipped)
    assert set(reasons) == {"small.exr", "broken.exr", "sdr8.png", "sdr.mp4"}
    assert "smaller than the clip size" in reasons["small.exr"]
    assert "not HDR" in reasons["sdr8.png"] and "not HDR10" in reasons["sdr.mp4"]
    assert "EXR" in reasons["broken.exr"] or "unreadable" in reasons["broken.exr"]
    assert any("4 skipped" in line for line in logs)
    assert report.complete and report.total == 2
    clip = _clips(tmp_path / "out", "hdr10.mkv")[0]
    assert clip["camera"]["type"] == "video" and clip["exposure"]["gain"] == 1.0
    start, (x0, y0, w, h) = clip["camera"]["start_frame"], clip["camera"]["crop_xywh"]
    got = _png(tmp_path / "out" / "clips" / clip["id"] / clip["files"]["hdr"][0]) / 65535.0
    want = pq[start, y0:y0 + h, x0:x0 + w]
    assert np.abs(got - want).mean() < 0.01  # the master is the video's own PQ frame, through 10-bit HEVC


def test_building_leaves_the_callers_thread_settings_as_they_were(tiny_sources, tmp_path, monkeypatch):
    """Workers run single-threaded, but the caller's OpenMP / BLAS variables and OpenCV threads are put back."""
    import os


    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    threads = cv2.getNumThreads()
    quiet = dict(progress=False, log=lambda *_: None, max_clips=2)
    report = build(tiny_sources, tmp_path / "pool", tiny_recipe(), workers=2, **quiet)  # spawned workers
    assert report.built == 2
    build(tiny_sources, tmp_path / "here", tiny_recipe(), workers=1, **quiet)  # in this process
    assert "OMP_NUM_THREADS" not in os.environ and "MKL_NUM_THREADS" not in os.environ
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3" and cv2.getNumThreads() == threads
