"""`sdr2hdr convert --source-tmo` (informed mode) and `--quality` (tiers of the default model) from the command line."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from clip_tools import ffprobe, make_sdr_clip, run_cli

from sdr2hdr.cli import main
from sdr2hdr.io import frame_to_rgb, read_png, write_png8
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights
from sdr2hdr.tonemap.source_inverse import SOURCE_TMOS, source_inverse


def test_unknown_source_tmo_is_one_line_listing_the_valid_names(tmp_path, capsys):
    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    assert main(["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--source-tmo", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'nope'" in err
    assert err.endswith(", ".join(SOURCE_TMOS))
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("flags", [["--method", "bt2446c"], ["--model", "agcm"]])
def test_quality_with_a_method_or_model_is_refused(tmp_path, capsys, flags):
    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    assert main(["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--quality", "best", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--quality" in err
    assert not (tmp_path / "out.png").exists()


def test_source_tmo_and_method_are_exclusive(tmp_path, capsys):
    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    assert main(["convert", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--source-tmo", "hable",
                 "--method", "bt2408"]) == 2
    assert "not allowed with argument --source-tmo" in capsys.readouterr().err


def test_source_tmo_converts_a_clip_to_hdr10_with_that_curves_inverse(tmp_path):
    src = make_sdr_clip(tmp_path / "in.mp4", width=96, height=64, frames=4, audio=False)
    out = tmp_path / "out.mkv"
    res = run_cli("convert", src, out, "--source-tmo", "bt2446a", "--quiet", "--qp", "4")
    assert res.returncode == 0, res.stderr
    assert "exact inverse of bt2446a" in res.stdout
    info = json.loads(ffprobe("-show_streams", "-count_frames", "-of", "json", out))
    (v,) = info["streams"]
    assert (v["codec_name"], v["pix_fmt"], v["color_transfer"], v["color_primaries"], v["color_space"]) == \
        ("hevc", "yuv420p10le", "smpte2084", "bt2020", "bt2020nc")
    assert (v["width"], v["height"], v["nb_read_frames"]) == (96, 64, "4")
    # the picture is BT.2446 A's inverse of the input (SDR white near 1000 cd/m2), not another curve's
    with av.open(str(src)) as c:
        sdr = frame_to_rgb(next(c.decode(video=0)), "bt709", False)
    with av.open(str(out)) as c:
        hdr = frame_to_rgb(next(c.decode(video=0)), "bt2020", False)
    inner = (slice(4, -4), slice(4, -4))  # away from the frame edges' chroma
    err = {n: np.abs(hdr[inner] - source_inverse(n)(sdr[None])[0][inner]).mean() * 1023 for n in ("bt2446a",
                                                                                                  "bt2446c")}
    # the shipped restoration moves the exact inverse by a few codes (4.6 on this clip); another curve is 80 away
    assert err["bt2446a"] < 8.0 and err["bt2446c"] > 8 * err["bt2446a"], err


def test_quality_best_picks_the_local_tier_of_the_default_model(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "shipped"
    folder.mkdir()
    torch.manual_seed(0)
    for name in ("adaptive_itm", "adaptive_itm_local"):
        save_weights(create(name), folder / f"{name}.safetensors", {"model": name})
    (folder / "adaptive_itm.json").write_text(json.dumps({"model": "adaptive_itm", "default": True}))
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(folder))
    write_png8(tmp_path / "in.png", np.full((16, 24, 3), 1.0))
    for quality, model in (("fast", "adaptive_itm"), ("best", "adaptive_itm_local")):
        out = tmp_path / f"{quality}.png"
        # --middle-grey 0: the level the model estimates, which for untrained weights is BT.2408's white
        assert main(["convert", str(tmp_path / "in.png"), str(out), "--quality", quality, "--device", "cpu",
                     "--middle-grey", "0"]) == 0
        said = capsys.readouterr().out
        assert f"using the shipped model {model} ({quality}" in said
        px, bits = read_png(out)
        # untrained weights: SDR white on BT.2408's 203 cd/m2 (PQ 0.58) whichever tier
        assert bits == 16 and px.shape == (16, 24, 3) and abs(float(px.mean()) - 0.5807) < 0.002


def test_quality_best_with_a_default_model_without_tiers_uses_that_model(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "shipped"
    folder.mkdir()
    torch.manual_seed(0)
    save_weights(create("agcm"), folder / "agcm.safetensors", {"model": "agcm"})
    (folder / "agcm.json").write_text(json.dumps({"model": "agcm", "default": True}))
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(folder))
    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    assert main(["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--quality", "best",
                 "--device", "cpu"]) == 0
    assert "using the shipped model agcm (best" in capsys.readouterr().out
    assert (tmp_path / "out.png").is_file()


def test_quality_best_without_shipped_local_weights_says_how_to_get_them(tmp_path, capsys):
    from sdr2hdr.models.weights import shipped_weights

    write_png8(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    status = main(["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--quality", "best"])
    if shipped_weights("adaptive_itm_local") is not None:  # once trained weights ship, the tier just runs
        assert status == 0
        return
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "--weights" in err and "adaptive_itm_local" in err
    assert not (tmp_path / "out.png").exists()
