"""The Python API: sdr2hdr.convert / create_model / list_models, and the usage page's examples, run as written."""

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from clip_tools import ffprobe, make_sdr_clip, run_cli_process

import sdr2hdr
from sdr2hdr.models.weights import shipped_weights

README = Path(__file__).resolve().parents[1] / "docs" / "usage.md"  # the API examples live there


def _api_snippets() -> list[str]:
    """The python code blocks of docs/usage.md's "Python API" section, in order."""
    text = README.read_text()
    section = text[text.index("## Python API"):]
    section = section[:section.index("\n## ", 4)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 3
    return blocks


def _hevc_frames(path: Path) -> tuple[str, int, str]:
    s = json.loads(ffprobe("-select_streams", "v:0", "-count_frames", "-show_entries",
                           "stream=codec_name,nb_read_frames,color_transfer", "-of", "json", path))["streams"][0]
    return s["codec_name"], int(s["nb_read_frames"]), s["color_transfer"]


def test_readme_api_examples_run(tmp_path, monkeypatch, capsys):
    make_sdr_clip(tmp_path / "in.mp4", 64, 48, 6, audio=False)
    cv2.imwrite(str(tmp_path / "photo.png"), np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8))
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    for block in _api_snippets():
        exec(compile(block, "docs/usage.md", "exec"), scope)  # noqa: S102 - the documentation is the test
    out = capsys.readouterr().out
    assert _hevc_frames(tmp_path / "out.mkv") == ("hevc", 6, "smpte2084")
    assert _hevc_frames(tmp_path / "out_default.mkv") == ("hevc", 6, "smpte2084")
    assert (tmp_path / "photo_hdr.png").read_bytes().find(b"cICP") > 0
    assert "refused: output exists" in out
    assert "(1, 3, 64, 96)" in out and "agcm" in out


def test_one_line_convert_in_a_fresh_interpreter(tmp_path):
    make_sdr_clip(tmp_path / "in.mp4", 64, 48, 4, audio=False)
    res = subprocess.run([sys.executable, "-c", "import sdr2hdr; sdr2hdr.convert('in.mp4', 'out.mkv', "
                          "method='bt2446c')"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert _hevc_frames(tmp_path / "out.mkv") == ("hevc", 4, "smpte2084")


def test_python_dash_m_runs_the_command(tmp_path):
    """`python -m sdr2hdr` is the `sdr2hdr` command: its help, and a refusal as one line with status 2."""
    res = run_cli_process("convert", "--help")
    assert res.returncode == 0 and "--exposure STOPS" in res.stdout, res.stderr
    res = run_cli_process("convert", tmp_path / "missing.mp4", tmp_path / "out.mkv")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and not list(tmp_path.iterdir())


def test_import_is_cheap():
    code = "import sys, sdr2hdr; print(sorted(m for m in ('torch', 'av', 'cv2', 'numpy') if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_create_model_loads_the_shipped_weights():
    from safetensors.torch import load_file

    model = sdr2hdr.create_model("agcm", pretrained=True)
    state = load_file(str(shipped_weights("agcm")))
    assert not model.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    fresh = sdr2hdr.create_model("agcm", pretrained=False)
    assert any(not torch.equal(v, state[k]) for k, v in fresh.state_dict().items())


def test_list_models_and_refusals():
    every, shipped, bare = (sdr2hdr.list_models(p) for p in (None, True, False))
    assert {"agcm", "adaptive_itm"} <= set(shipped) and "adaptive_itm_local" in bare
    assert sorted(shipped + bare) == sorted(every) and not set(shipped) & set(bare)
    with pytest.raises(sdr2hdr.InputError, match="no shipped weights"):
        sdr2hdr.create_model("adaptive_itm_local")
    with pytest.raises(sdr2hdr.InputError, match="unknown model"):
        sdr2hdr.create_model("nope")


@pytest.mark.parametrize("options, message", [
    ({"method": "bt9999"}, "unknown method"),
    ({"crf": 18, "qp": 20}, "alternatives"),
    ({"method": "bt2408", "model": "agcm"}, "alternatives"),
    ({"qp": 60}, "0..51"),
    ({"preset": "warp"}, "preset"),
    ({"weights": "w.safetensors"}, "needs --model"),
    ({"model": "agcm", "quality": "best"}, "--quality"),
])
def test_convert_refuses_bad_options_before_reading(tmp_path, options, message):
    with pytest.raises(sdr2hdr.InputError, match=re.escape(message)):
        sdr2hdr.convert(tmp_path / "missing.mp4", tmp_path / "out.mkv", **options)
    assert not list(tmp_path.iterdir())
