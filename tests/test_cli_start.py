"""The CLI starts at once: --version, --help and bad arguments load neither torch nor PyAV, and cheap refusals
(paths, output type) come before any model loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
SAMPLE = SRC / "sdr2hdr" / "assets" / "sample_sdr.mp4"
HEAVY = ("torch", "av", "ray", "onnxruntime")

# what the parser does for each argv, then which heavy modules are loaded (run in a fresh interpreter)
_PROBE = """
import contextlib, io, json, sys
from sdr2hdr import cli
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    status = cli.main(sys.argv[1:])
print(json.dumps({"status": status, "out": out.getvalue(), "err": err.getvalue(),
                  "loaded": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def _probe(*argv: str, cwd: Path | None = None) -> dict:
    res = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=_env(),
                         cwd=cwd, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["convert", "--help"], ["batch", "--help"],
                                  ["train", "--help"], ["evaluate", "--help"], ["data", "--help"]])
def test_help_and_version_load_no_heavy_module(argv):
    res = _probe(*argv)
    assert res["status"] == 0
    assert res["out"].startswith("sdr2hdr 0.") if argv == ["--version"] else "usage: sdr2hdr" in res["out"]
    assert res["loaded"] == []


def test_bad_arguments_are_refused_before_any_heavy_import():
    res = _probe("convert", "in.mp4", "out.mkv", "--peak-nits", "50")
    assert res["status"] == 2
    assert res["err"].startswith("sdr2hdr: error: convert: argument --peak-nits:")
    assert res["loaded"] == []


@pytest.mark.parametrize("output, message", [
    ("exists.mkv", "output exists: "),
    ("out.avi", "a video converts to one of"),
    ("no/such/dir/out.mkv", "output directory does not exist"),
])
def test_cheap_refusals_come_before_the_default_model_loads(tmp_path, output, message):
    """No --method: the default model would load torch; a path the conversion cannot use is refused first.
    (PyAV may load: convert is the command that needs it.)"""
    (tmp_path / "exists.mkv").write_bytes(b"")
    res = _probe("convert", str(SAMPLE), output, cwd=tmp_path)
    assert res["status"] == 2
    assert message in res["err"] and len(res["err"].splitlines()) == 1
    assert "torch" not in res["loaded"]


def test_a_missing_input_is_refused_before_the_default_model_loads(tmp_path):
    res = _probe("convert", "missing.mp4", "out.mkv", cwd=tmp_path)
    assert (res["status"], res["err"]) == (2, "sdr2hdr: error: no such file: missing.mp4\n")
    assert "torch" not in res["loaded"]


def test_a_classical_image_conversion_does_without_torch(tmp_path):
    import numpy as np

    from sdr2hdr.io import write_png8

    src = write_png8(tmp_path / "in.png", np.full((8, 8, 3), 0.5, dtype=np.float32))
    res = _probe("convert", str(src), "out.png", "--method", "bt2446c", cwd=tmp_path)
    assert res["status"] == 0, res["err"]
    assert res["out"].startswith("wrote out.png (")
    assert "torch" not in res["loaded"]


@pytest.mark.parametrize("argv", [["--version"], ["convert", "--help"]])
def test_python_m_sdr2hdr_returns_quickly(argv):
    """The process as a user starts it; the bound is generous for a loaded machine (it took 4 s when the CLI
    imported torch, about 0.2 s without), the module check above is the exact one."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "sdr2hdr", *argv], capture_output=True, text=True, env=_env(),
                         timeout=120)
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("sdr2hdr 0.") if argv == ["--version"] else res.stdout.startswith("usage:")
    assert elapsed < 2.0, f"{' '.join(argv)} took {elapsed:.2f} s"


def test_a_classical_video_conversion_does_without_torch(tmp_path):
    res = _probe("convert", str(SAMPLE), "out.mkv", "--method", "bt2408", "--max-frames", "2", "--quiet",
                 cwd=tmp_path)
    assert res["status"] == 0, res["err"]
    assert res["out"].startswith("wrote out.mkv: 2 frames ")
    assert "torch" not in res["loaded"]
