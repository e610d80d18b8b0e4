"""Failure paths of long jobs and of output locations (issue 29): a full disk during a resumable run, two runs on
one output, an output folder nobody can write in, and a plain convert of a long video that is killed and run again
(resumable by default), each against an uninterrupted run."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from clip_tools import make_gop_clip
from long_jobs import command, one_line, read_only_folder, run, same_film, small_disk

SEGMENT = "0.25"  # with a keyframe every 6 frames at 24 frames/s: 10 pieces of 6 frames
FAST = ("--method", "bt2408", "--quiet")


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    return make_gop_clip(tmp_path_factory.mktemp("long") / "in.mp4")


@pytest.fixture(scope="module")
def segmented_reference(film) -> Path:
    """An uninterrupted segmented run, on an ordinary disk."""
    out = film.parent / "reference.mkv"
    res = run("convert", film, out, *FAST, "--segment-seconds", SEGMENT)
    assert res.returncode == 0, res.stderr
    return out


def test_full_disk_during_resume_keeps_the_pieces_and_says_how_to_go_on(film, segmented_reference, tmp_path):
    with small_disk(tmp_path / "disk", "100k") as disk:
        out = tmp_path / "disk" / "out.mkv"
        args = ("convert", film, out, *FAST, "--resume", "--segment-seconds", SEGMENT)
        line = one_line(run(*args, limit=disk["limit"]))
        assert "free space and run the same command again" in line and ".out.mkv.parts" in line, line
        assert "pieces" in line and "MB) are kept" in line
        parts = out.parent / ".out.mkv.parts"
        assert (parts / "manifest.json").is_file() and not out.exists()
        assert not list(parts.glob("tmp-*")), "a half-written piece is removed"
        kept = len(list(parts.glob("piece-*.json")))
        disk["grow"]()
        res = run(*args, limit=disk["limit"])
        assert res.returncode == 0, res.stderr
        assert not parts.exists() and not list(out.parent.glob(".*"))
        same_film(out, segmented_reference, 60)
    print(f"{kept} pieces kept through the full disk")


def test_full_disk_while_joining_keeps_the_pieces(film, tmp_path):
    """Every piece fits, the joined file does not: the message says the same, and the pieces stay."""
    with small_disk(tmp_path / "disk", "600k") as disk:
        out = tmp_path / "disk" / "out.mkv"
        line = one_line(run("convert", film, out, *FAST, "--resume", "--segment-seconds", SEGMENT, "--qp", "4",
                            limit=disk["limit"]))
        assert "free space and run the same command again" in line, line
        assert len(list((out.parent / ".out.mkv.parts").glob("piece-*.nut"))) == 10 and not out.exists()


def test_second_resume_run_on_one_output_is_refused_while_the_first_goes_on(film, segmented_reference, tmp_path):
    out = tmp_path / "out.mkv"
    args = ("convert", film, out, *FAST, "--resume", "--segment-seconds", SEGMENT)
    first = subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / ".out.mkv.parts"
    deadline = time.monotonic() + 120
    while not (parts / "manifest.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # held mid-film (as a slow machine would) while the second one tries
    try:
        assert first.poll() is None, "the first run ended before the second could start"
        second = run(*args)
    finally:
        first.send_signal(signal.SIGCONT)
    line = one_line(second)
    assert "another conversion to" in line and "is running" in line, line
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]
    same_film(out, segmented_reference, 60)


@pytest.mark.parametrize("extra", [("--max-frames", "3"), ("--resume",), ("--journal-after", "0")])
def test_read_only_output_folder_is_one_line(film, tmp_path, extra):
    with read_only_folder(tmp_path / "ro") as folder:
        line = one_line(run("convert", film, folder / "out.mkv", *FAST, *extra))
        assert f"cannot write in {folder}" in line and ".part" not in line, line


@pytest.mark.parametrize("out", ["/proc/out.mkv", "/proc/out.png"])
def test_output_in_proc_is_one_line(film, tmp_path, out):
    src = film
    if out.endswith(".png"):
        src = tmp_path / "in.png"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(film), "-frames:v", "1", str(src)], check=True)
    line = one_line(run("convert", src, out, *FAST, "--max-frames", "2") if out.endswith(".mkv")
                    else run("convert", src, out, *FAST))
    assert "cannot write in /proc" in line and ".part" not in line, line


def _kill_at_random(args: tuple, out: Path, kills: int, seed: int) -> int:
    """SIGKILL the same plain command `kills` times, each at a random moment after it finished a new piece, then
    run it to the end; returns the kills made."""
    rng = random.Random(seed)
    parts = out.parent / f".{out.name}.parts"
    done = 0
    while done < kills:
        before = len(list(parts.glob("piece-*.json"))) if parts.exists() else 0
        proc = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and (len(list(parts.glob("piece-*.json"))) if parts.exists() else 0) <= before:
            time.sleep(0.01)
        records = sorted(parts.glob("piece-*.json"), key=lambda p: p.stat().st_mtime_ns) if parts.exists() else []
        took = json.loads(records[-1].read_text())["seconds"] if records else 0.1
        time.sleep(rng.uniform(0.0, 0.9) * took)
        if proc.poll() is not None:
            break
        proc.kill()
        proc.communicate()
        done += 1
        assert not out.exists() and (parts / "manifest.json").exists()
    if not out.exists():
        res = run(*args)
        assert res.returncode == 0, res.stderr
    assert not parts.exists() and not (out.parent / f".{out.name}.parts.lock").exists()
    return done


def test_plain_convert_of_a_long_video_killed_and_rerun_is_bit_identical(tmp_path):
    """Resumable by default: past --journal-after seconds a plain convert keeps a journal; killed five times at
    random and run again each time, it ends with the packets (bits and times) and frames of an uninterrupted run,
    and the journal is gone."""
    film = make_gop_clip(tmp_path / "in.mp4", frames=96)  # 4 s: 16 pieces of 6 frames, room for 5 kills
    plain = ("--method", "bt2408", "--quiet", "--journal-after", "1")
    reference = tmp_path / "reference.mkv"
    res = run("convert", film, reference, *plain)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "reference.mkv"]
    out = tmp_path / "out.mkv"
    kills = _kill_at_random(("convert", film, out, *plain), out, kills=5, seed=29)
    assert kills == 5
    same_film(out, reference, 96)


def test_plain_convert_below_the_threshold_keeps_no_journal(film, tmp_path):
    """A video shorter than --journal-after converts in one piece, as before (nothing written beside it)."""
    out = tmp_path / "out.mkv"
    proc = subprocess.Popen(command("convert", film, out, *FAST, "--journal-after", "5"), stderr=subprocess.PIPE)
    seen = set()
    while proc.poll() is None:
        seen.update(p.name for p in tmp_path.iterdir())
        time.sleep(0.005)
    assert proc.returncode == 0
    assert not any(name.endswith(".parts") for name in seen) and [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


def test_plain_rerun_with_other_options_starts_over(film, tmp_path):
    """A journal left by a killed run with other options is replaced (with a note), not refused: a plain convert
    never asked to resume."""
    out = tmp_path / "out.mkv"
    base = ("convert", film, out, "--journal-after", "1")
    _kill_once(base + ("--method", "bt2408", "--quiet"), out)
    res = run(*base, "--method", "bt2446c")  # not quiet: the note is shown
    assert res.returncode == 0, res.stderr
    assert "starting over" in res.stdout + res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


def _kill_once(args: tuple, out: Path) -> None:
    parts = out.parent / f".{out.name}.parts"
    proc = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not list(parts.glob("piece-*.json")):
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert (parts / "manifest.json").exists()
