"""`sdr2hdr convert --model`: registered models on videos and stills, weights found or refused by name."""

import json

import numpy as np
import pytest
import torch
from clip_tools import ffprobe, make_sdr_clip, run_cli

from sdr2hdr.io import read_png, write_png8
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    torch.manual_seed(0)
    out = {}
    for name in ("agcm", "didnet_tiny", "deep_sr_itm_x2"):
        out[name] = save_weights(create(name), d / f"{name}.safetensors", {"model": name})
    return out


def test_single_frame_model_converts_a_video(tmp_path, weights):
    src = make_sdr_clip(tmp_path / "in.mp4", width=96, height=64, frames=6, audio=False)
    res = run_cli("convert", src, tmp_path / "out.mkv", "--model", "agcm", "--weights", weights["agcm"],
                  "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(ffprobe("-show_streams", "-count_frames", "-of", "json", tmp_path / "out.mkv"))
    (v,) = info["streams"]
    assert (v["width"], v["height"], v["nb_read_frames"], v["color_transfer"]) == (96, 64, "6", "smpte2084")


def test_multi_frame_model_keeps_every_frame_of_a_short_clip(tmp_path, weights):
    src = make_sdr_clip(tmp_path / "in.mp4", width=64, height=48, frames=3, audio=False)
    res = run_cli("convert", src, tmp_path / "out.mkv", "--model", "didnet_tiny", "--weights",
                  weights["didnet_tiny"], "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(ffprobe("-show_streams", "-count_frames", "-of", "json", tmp_path / "out.mkv"))
    assert info["streams"][0]["nb_read_frames"] == "3"


def test_sr_model_on_a_still_doubles_the_size(tmp_path, weights):
    write_png8(tmp_path / "in.png", np.random.default_rng(0).uniform(0, 1, (24, 40, 3)))
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "out.png", "--model", "deep_sr_itm_x2", "--weights",
                  weights["deep_sr_itm_x2"], "--device", "cpu")
    assert res.returncode == 0, res.stderr
    px, bits = read_png(tmp_path / "out.png")
    assert px.shape == (48, 80, 3) and bits == 16


def test_weights_of_another_model_are_refused_with_the_tensor_named(tmp_path, weights):
    write_png8(tmp_path / "in.png", np.zeros((16, 16, 3)))
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "out.png", "--model", "agcm", "--weights",
                  weights["didnet_tiny"])
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "does not fit" in res.stderr and "tensor '" in res.stderr
    assert not (tmp_path / "out.png").exists()


def test_unknown_model_and_missing_weights(tmp_path):
    write_png8(tmp_path / "in.png", np.zeros((16, 16, 3)))
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "o.png", "--model", "nope")
    assert res.returncode == 2 and "unknown model 'nope'" in res.stderr
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "o.png", "--model", "adaptive_itm_local")
    assert res.returncode == 2 and "no shipped weights" in res.stderr


def test_the_default_shipped_model_is_used_without_model_or_method(tmp_path, weights, monkeypatch):
    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / "agcm.safetensors").write_bytes(weights["agcm"].read_bytes())
    (folder / "agcm.json").write_text(json.dumps({"model": "agcm", "default": True, "summary": "test card"}))
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(folder))
    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "out.png")
    assert res.returncode == 0, res.stderr
    assert "using the shipped model agcm" in res.stdout
    listing = run_cli("models")
    assert "* agcm [sha256 not recorded]: test card" in listing.stdout
    res = run_cli("convert", tmp_path / "in.png", tmp_path / "out2.png", "--method", "bt2408")
    assert "shipped model" not in res.stdout and "bt2408" in res.stdout
