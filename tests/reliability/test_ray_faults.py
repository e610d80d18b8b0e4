"""Faults the README says a Ray run survives: a worker process killed (SIGKILL) while it converts a piece of a film
(`convert --ray`) or a file of a folder (`batch --ray`), on a local cluster of several worker processes. Ray runs the
lost task again; the output equals a one-machine run in decoded planes and packet times."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from clip_tools import make_gop_clip
from long_jobs import command, run, same_film

pytestmark = pytest.mark.slow


def _task_pids(name: str) -> list[int]:
    """Processes that run a Ray task of this function now: Ray titles a busy worker `ray::NAME`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if title.startswith(f"ray::{name}"):
                pids.append(int(entry.name))
    return pids


class Killer(threading.Thread):
    """Kills a worker busy with a task of `name`, once, `delay` seconds after the first such task was seen."""

    def __init__(self, name: str, delay: float, proc: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.name_, self.delay, self.proc = name, delay, proc
        self.killed: int | None = None

    def run(self) -> None:
        waited = False
        while self.proc.poll() is None:
            pids = _task_pids(self.name_)
            if pids and not waited:  # let the first task get going
                time.sleep(self.delay)
                waited = True
                continue
            if pids:  # a worker busy with a task now: mid-task
                os.kill(pids[0], signal.SIGKILL)
                self.killed = pids[0]
                return
            time.sleep(0.02)


def _run_with_a_kill(args: tuple, task: str, delay: float) -> tuple[subprocess.CompletedProcess, int | None]:
    proc = subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = Killer(task, delay, proc)
    killer.start()
    out, err = proc.communicate(timeout=900)
    killer.join(5)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), killer.killed


def test_convert_on_ray_survives_a_killed_worker(tmp_path):
    film = make_gop_clip(tmp_path / "in.mp4", frames=96)
    args = ("--method", "bt2408", "--exact", "--quiet", "--segment-seconds", "0.5")  # 8 pieces of 12 frames
    one = tmp_path / "one.mkv"
    res = run("convert", film, one, *args)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "ray.mkv"
    res, killed = _run_with_a_kill(("convert", film, out, *args, "--ray", "local", "--ray-workers", "2"),
                                   "convert_piece", 0.3)
    assert killed is not None, "no worker was seen at a piece"
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / ".ray.mkv.parts").exists()
    same_film(out, one, 96)


def test_batch_on_ray_survives_a_killed_worker(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(3):
        make_gop_clip(src / f"c{k}.mp4", frames=72)
    opts = ("--method", "bt2408", "--exact", "--quiet")
    res = run("batch", src, tmp_path / "one", *opts)
    assert res.returncode == 0, res.stderr
    res, killed = _run_with_a_kill(("batch", src, tmp_path / "ray", *opts, "--ray", "local", "--jobs", "2"),
                                   "convert_one", 1.0)
    assert killed is not None, "no worker was seen at a file"
    assert res.returncode == 0, res.stderr
    assert "3 converted, 0 skipped" in res.stdout
    for k in range(3):
        same_film(tmp_path / "ray" / f"c{k}.mkv", tmp_path / "one" / f"c{k}.mkv", 72)
    # the killed attempt's temporary file is gone; the hidden record holds each output's options
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == [".sdr2hdr-batch-options.json", "c0.mkv",
                                                                    "c1.mkv", "c2.mkv", "sdr2hdr-batch.json"]
