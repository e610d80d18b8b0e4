"""`sdr2hdr convert --model deep_sr_itm_x2 / gpgmnet_x4`: a video comes out two / four times larger, as HDR10."""

import json

import pytest
import torch
from clip_tools import ffprobe, make_sdr_clip, run_cli

from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_sdr_clip(tmp_path_factory.mktemp("sr") / "in.mp4", width=64, height=48, frames=3, audio=False)


@pytest.mark.parametrize("name,scale,own", [("deep_sr_itm_x2", 2, False), ("gpgmnet_x4", 4, True)])
def test_sr_model_scales_a_video_and_writes_hdr10(tmp_path, clip, name, scale, own):
    # the shipped weights, or a user's own file (randomly initialised here)
    extra = []
    if own:
        torch.manual_seed(0)
        extra = ["--weights", save_weights(create(name), tmp_path / f"{name}.safetensors", {"model": name})]
    out = tmp_path / "out.mkv"
    res = run_cli("convert", clip, out, "--model", name, *extra, "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    assert f"{64 * scale}x{48 * scale}" in res.stdout
    (v,) = json.loads(ffprobe("-show_streams", "-count_frames", "-of", "json", out))["streams"]
    assert (v["width"], v["height"]) == (64 * scale, 48 * scale)
    assert (v["codec_name"], v["pix_fmt"], v["nb_read_frames"]) == ("hevc", "yuv420p10le", "3")
    assert (v["color_primaries"], v["color_transfer"], v["color_space"]) == ("bt2020", "smpte2084", "bt2020nc")
    first = json.loads(ffprobe("-show_frames", "-read_intervals", "%+#1", "-of", "json", out))["frames"][0]
    kinds = {d["side_data_type"] for d in first.get("side_data_list", [])}
    assert {"Mastering display metadata", "Content light level metadata"} <= kinds


def test_model_without_shipped_weights_says_to_pass_a_file(tmp_path, clip):
    res = run_cli("convert", clip, tmp_path / "out.mkv", "--model", "adaptive_itm_local", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "adaptive_itm_local" in lines[0] and "--weights FILE" in lines[0], res.stderr
    assert not (tmp_path / "out.mkv").exists()
