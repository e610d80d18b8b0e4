"""Tools of the long-job tests: a clip with keyframes every few frames, a small disk and a read-only folder (a real
tmpfs mount when the tests run as root, as the Makefile's setup does; a file size limit and a mode-0555 folder
otherwise), runs of the CLI, and the comparison of two outputs by decoded planes, packet times and packet bytes."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from clip_tools import decoded_frames, packet_times

ROOT = os.geteuid() == 0


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "sdr2hdr.cli", *map(str, args)]


def run(*args: object, limit: int | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; ``limit``: a file size limit in bytes for it (SIGXFSZ ignored, so writes fail
    with EFBIG as on a full disk)."""

    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(command(*args), capture_output=True, text=True, timeout=600,
                          preexec_fn=pre if limit is not None else None)


def one_line(res: subprocess.CompletedProcess, status: int = 2) -> str:
    """The single stderr line of a refusal with exit `status`."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == status and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[dict]:
    """A folder on a file system of `size` (tmpfs, as root), or with a file size limit of that many bytes for the
    conversions (``limit`` in the dict: pass it to run()). ``grow()`` gives it room again."""
    folder.mkdir()
    state: dict = {"limit": None}
    if ROOT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
        state["grow"] = lambda: subprocess.run(["mount", "-o", "remount,size=256m", str(folder)], check=True)
    else:
        state["limit"] = int(size.rstrip("k")) * 1024
        state["grow"] = lambda: state.update(limit=None)
    try:
        yield state
    finally:
        if ROOT:
            subprocess.run(["umount", "-l", str(folder)], check=True)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """A folder nobody can create files in: a read-only tmpfs mount (as root, where modes do not stop writes), else
    mode 0555."""
    folder.mkdir()
    if ROOT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if ROOT:
            subprocess.run(["umount", "-l", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def framemd5(path: Path) -> list[str]:
    """Every packet's stream, timestamps, size and MD5, read by FFmpeg with stream copy: equal lists mean the same
    coded bits (a container's own random IDs aside)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0", "-c", "copy", "-f", "framemd5",
                          "-"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


def same_film(a: Path, b: Path, frames: int, bits: bool = True) -> None:
    """The same decoded planes and frame times, the same packet times (ffprobe), and with ``bits`` the same packets."""
    fa, fb = decoded_frames(a), decoded_frames(b)
    assert len(fa) == len(fb) == frames
    assert [p for p, _ in fa] == [p for p, _ in fb]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(fa, fb))
    assert packet_times(a) == packet_times(b)
    if bits:
        assert framemd5(a) == framemd5(b)
