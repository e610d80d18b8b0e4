"""engine.request.ConvertRequest: one frozen, once-checked options object from the CLI and the API to the engine."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdr2hdr.cli import build_parser
from sdr2hdr.engine.request import ConvertRequest, convert_options
from sdr2hdr.errors import InputError

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_cli_and_the_api_build_the_same_request():
    args = build_parser().parse_args(["convert", "a.mp4", "b.mkv", "--method", "bt2408", "--peak-nits", "600",
                                      "--crf", "20", "--exposure", "-0.5", "--quiet"])
    from_cli = ConvertRequest.from_args(args)
    from_api = ConvertRequest("a.mp4", "b.mkv", method="bt2408", peak_nits=600.0, crf=20.0, exposure=-0.5,
                              quiet=True)
    assert from_cli == from_api
    assert from_api.input == Path("a.mp4") and isinstance(from_api.output, Path)


def test_a_request_is_frozen_and_carries_the_peak_once():
    request = ConvertRequest(Path("a.mp4"), Path("b.mkv"), peak_nits=600.0, qp=22)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.peak_nits = 1000.0  # type: ignore[misc]
    settings = request.settings(lut=None)
    assert "mastering" not in {f.name for f in dataclasses.fields(settings)}
    assert settings.mastering.max_nits == 600.0 and settings.qp == 22


@pytest.mark.parametrize("options, message", [
    ({"qp": 60}, "--qp must be in 0..51, got 60"),
    ({"crf": 20, "qp": 20}, "crf and qp are alternatives"),
    ({"method": "bt2408", "model": "csrnet"}, "method, model, source_tmo and calibration are alternatives"),
    ({"method": "nope"}, "unknown method 'nope'"),
    ({"peak_nits": float("nan")}, "--peak-nits must be in 100..10000"),
    ({"weights": "w.safetensors"}, "--weights needs --model"),
    ({"ray_workers": 2}, "it needs --ray local"),
    ({"resume": True, "max_frames": 5}, "for whole videos"),
])
def test_bad_options_are_refused_when_the_request_is_made(options, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("+", r"\+")):
        ConvertRequest(Path("a.mp4"), Path("b.mkv"), **options)


def test_batch_options_are_the_requests_without_paths_or_segments():
    args = build_parser().parse_args(["batch", "in", "out", "--method", "bt2446a", "--overwrite"])
    options = convert_options(args)
    fields = {f.name for f in dataclasses.fields(ConvertRequest)}
    assert set(options) == fields - {"input", "output", "resume", "segment_seconds", "ray", "ray_workers"}
    assert options["method"] == "bt2446a" and options["overwrite"] is True


def test_mappers_answer_what_the_pipeline_asks():
    from sdr2hdr.engine.lut import CodeLUT
    from sdr2hdr.engine.mappers import classical_mapper

    mapper = classical_mapper("bt2408", 1000.0)
    assert mapper.light and mapper.tracker is None
    assert isinstance(mapper.code_table("yuv420p", "bt709", False, None, True), CodeLUT)
    assert mapper.code_table("yuv420p", "bt709", False, None, False) is None
    assert mapper.code_table("yuv420p", "bt709", False, 100 * 100, None) is None  # too short to repay the table
    assert mapper.code_table("yuv420p10le", "bt709", False, None, True) is None  # the table reads 8-bit codes


def test_requests_and_classical_mappers_need_no_torch():
    code = ("import sys, numpy as np\n"
            "from pathlib import Path\n"
            "from sdr2hdr.engine.mappers import make_mapper\n"
            "from sdr2hdr.engine.request import ConvertRequest\n"
            "choice = make_mapper(ConvertRequest(Path('a.mp4'), Path('b.mkv'), method='bt2446c'))\n"
            "out = choice.mapper(np.full((2, 2, 3), 0.5, np.float32))\n"
            "print(out.dtype, 'torch' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(np.dtype(np.float32)), "False"]
