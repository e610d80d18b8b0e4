"""`sdr2hdr batch`: a folder tree converted and mirrored, bad files reported and skipped past, resume, Ray."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from clip_tools import ffprobe, make_sdr_clip, run_cli, run_cli_process

from sdr2hdr.batch import plan


@pytest.fixture()
def tree(tmp_path) -> Path:
    """in/a.mp4, in/sub/b.mkv, in/sub/deeper/c.mov, in/sub/pic.jpg, the corrupt in/sub/bad.mp4, hidden files."""
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".cache").mkdir()
    make_sdr_clip(root / "a.mp4", 64, 48, 5, audio=False)
    make_sdr_clip(root / "sub" / "b.mkv", 66, 50, 4, audio=False, seed=1)
    make_sdr_clip(root / "sub" / "deeper" / "c.mov", 64, 48, 3, audio=False, seed=2)
    px = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "sub" / "pic.jpg"), px)
    (root / "sub" / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    make_sdr_clip(root / ".cache" / "hidden.mp4", 64, 48, 2, audio=False)
    make_sdr_clip(root / ".hidden.mp4", 64, 48, 2, audio=False)
    (root / "notes.txt").write_text("not media")
    return root


EXPECTED = {"a.mkv": (64, 48, 5), "sub/b.mkv": (66, 50, 4), "sub/deeper/c.mkv": (64, 48, 3)}


def _check_outputs(out: Path) -> dict:
    for rel, (w, h, n) in EXPECTED.items():
        got = ffprobe("-select_streams", "v:0", "-count_frames", "-show_entries",
                      "stream=codec_name,width,height,color_transfer,color_primaries,nb_read_frames",
                      "-of", "json", out / rel)
        s = json.loads(got)["streams"][0]
        assert (s["codec_name"], s["width"], s["height"], int(s["nb_read_frames"])) == ("hevc", w, h, n), rel
        assert (s["color_transfer"], s["color_primaries"]) == ("smpte2084", "bt2020"), rel
    png = ffprobe("-show_entries", "stream=codec_name,pix_fmt,width,height", "-of", "json", out / "sub" / "pic.png")
    s = json.loads(png)["streams"][0]
    assert (s["codec_name"], s["pix_fmt"], s["width"], s["height"]) == ("png", "rgb48be", 40, 30)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # nothing partial; hidden, only the record of each output's options (batch.OPTIONS_RECORD)
    assert files == sorted([*EXPECTED, "sub/pic.png", "sdr2hdr-batch.json", ".sdr2hdr-batch-options.json"]), files
    return json.loads((out / "sdr2hdr-batch.json").read_text())


def _check_failure(res, summary) -> None:
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    listing = res.stderr[res.stderr.index("failed (1):"):].splitlines()[1:]
    assert len(listing) == 1 and listing[0].startswith("  sub/bad.mp4: ") and "bad.mp4" in listing[0]
    rows = {r["input"]: r for r in summary["files"]}
    assert rows["sub/bad.mp4"]["status"] == "failed" and rows["sub/bad.mp4"]["reason"]
    assert set(rows) == {"a.mp4", "sub/b.mkv", "sub/deeper/c.mov", "sub/pic.jpg", "sub/bad.mp4"}


def test_batch_with_two_processes_then_resume(tree, tmp_path):
    out = tmp_path / "out"
    res = run_cli("batch", tree, out, "--method", "bt2446c", "--jobs", "2")
    summary = _check_outputs(out)
    _check_failure(res, summary)
    assert (summary["converted"], summary["skipped"], summary["failed"]) == (4, 0, 1)
    rows = {r["input"]: r for r in summary["files"]}
    assert rows["sub/deeper/c.mov"]["frames"] == 3 and rows["sub/deeper/c.mov"]["max_cll"] > 0
    assert "files:" in res.stderr and "file/s" in res.stderr  # the bar over files
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.mkv")}

    again = run_cli("batch", tree, out, "--method", "bt2446c")  # one process: the per-file frame bar too
    summary = _check_outputs(out)
    _check_failure(again, summary)
    assert (summary["converted"], summary["skipped"], summary["failed"]) == (0, 4, 1)
    assert "skip sub/deeper/c.mov: sub/deeper/c.mkv already exists" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mkv")} == stamps  # finished files left alone


@pytest.mark.slow  # starts a Ray cluster, twice; in its own process, so none outlives the command
def test_batch_on_a_local_ray_cluster(tree, tmp_path):
    out = tmp_path / "out"
    res = run_cli_process("batch", tree, out, "--method", "bt2446c", "--ray", "local", "--jobs", "2", "--quiet")
    summary = _check_outputs(out)
    _check_failure(res, summary)
    assert (summary["converted"], summary["failed"]) == (4, 1)
    (out / "a.mkv").unlink()  # resume: only the missing file is converted again
    again = run_cli_process("batch", tree, out, "--method", "bt2446c", "--ray", "local", "--jobs", "2", "--quiet")
    summary = _check_outputs(out)
    _check_failure(again, summary)
    assert (summary["converted"], summary["skipped"], summary["failed"]) == (1, 3, 1)


def test_bad_usage_exits_2(tmp_path):
    (tmp_path / "in").mkdir()
    res = run_cli("batch", tmp_path / "in", tmp_path / "out", "--method", "bt2446c")
    assert res.returncode == 2 and "no videos or images under" in res.stderr
    res = run_cli("batch", tmp_path / "nope", tmp_path / "out")
    assert res.returncode == 2 and "not a folder" in res.stderr
    (tmp_path / "in" / "a.mp4").write_bytes(b"")
    res = run_cli("batch", tmp_path / "in", tmp_path / "out", "--model", "no_such_model")
    assert res.returncode == 2 and "unknown model" in res.stderr  # refused once, before any file
    assert not (tmp_path / "out").exists()


def test_plan_mirrors_and_keeps_colliding_names_apart(tmp_path):
    for rel in ("x/a.mp4", "x/a.MOV", "x/b.png", ".git/c.mp4", "x/.d.mp4", "x/e.exr", "out/f.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    jobs = plan(tmp_path, tmp_path / "out", ".mp4")
    assert [(j.rel_src, j.rel_dst) for j in jobs] == [("x/a.MOV", "x/a_mov.mp4"), ("x/a.mp4", "x/a_mp4.mp4"),
                                                       ("x/b.png", "x/b.png")]
