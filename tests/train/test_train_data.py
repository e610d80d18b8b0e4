"""The data adapter against the real data package: a tiny built set trains single- and multi-frame models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sdr2hdr.errors import InputError
from sdr2hdr.train.config import load_config
from sdr2hdr.train.data import build_datasets
from sdr2hdr.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def built_set(tmp_path_factory) -> Path:
    """Four textured HDR stills -> a 64x64, 5-frame set at QP 37: three training sources, one test source."""
    import cv2

    from sdr2hdr.data.build import build
    from sdr2hdr.data.recipe import Recipe
    from sdr2hdr.io import write_exr

    sources = tmp_path_factory.mktemp("sources")
    for k in range(4):
        rng = np.random.default_rng(k)
        noise = cv2.GaussianBlur(rng.standard_normal((120, 160, 3)).astype(np.float32), (0, 0), 3 + k)
        write_exr(sources / f"photo{k}.exr", (np.exp2(4 * noise / np.abs(noise).max()) * 0.2).astype(np.float32),
                  half=False)
    recipe = Recipe(seed=1, size=(64, 64), frames=5, clips_per_source={"train": 1, "test": 1}, test_fraction=0.25,
                    qps=(37,), scales=(1,), x265_preset="ultrafast", exposure_stops=(0.0, 0.0))
    out = tmp_path_factory.mktemp("set") / "built"
    report = build(sources, out, recipe, workers=1, progress=False, log=lambda *_: None)
    assert report.complete
    return out


@pytest.mark.parametrize("name", ["agcm", "didnet_tiny"])
def test_a_built_set_trains_with_held_out_sources(built_set, tmp_path, name):
    cfg = load_config(CONFIGS / f"{name}.yaml", "cpu-smoke",
                      ["data.source=dataset", "data.val_sources=1", "data.val_items=4", "train.steps=2",
                       "train.val_every=2", "train.ckpt_every=2", "data.qp=[37]"])
    train, val = build_datasets(cfg.data, 1, 5 if name == "didnet_tiny" else 1, cfg.train.patch, str(built_set),
                                progress=False)
    item = train[0]
    assert item["lq"].shape[-2:] == (32, 32) and item["hdr"].shape == (3, 32, 32)
    assert item["sdr_hq"].shape == (3, 32, 32)  # the centre frame, also for clips
    assert len(val) > 0 and val[0]["hdr"].shape == (3, 64, 64)
    result = Trainer(cfg, tmp_path, data_root=str(built_set), progress=False).run()
    assert result.step == 2 and np.isfinite(result.losses).all() and result.val_psnr is not None
    assert "1 held-out training sources" in (tmp_path / "weights" / "best.json").read_text()


def test_a_folder_without_a_manifest_is_refused(tmp_path):
    cfg = load_config(CONFIGS / "agcm.yaml", "cpu-small")
    with pytest.raises(InputError, match="manifest"):
        build_datasets(cfg.data, 1, 1, 128, str(tmp_path), progress=False)
    with pytest.raises(InputError, match="not found"):
        build_datasets(cfg.data, 1, 1, 128, str(tmp_path / "nothing"), progress=False)


def test_patches_are_flipped_and_rotated_alike_across_scales():
    """The one augmentation training uses: every tensor of an item gets the same flips and transpose."""
    import torch

    from sdr2hdr.train.data import PatchPairs

    torch.manual_seed(0)
    lq = torch.rand(3, 12, 12)
    hdr = lq.repeat_interleave(2, -1).repeat_interleave(2, -2)  # each LQ pixel covers 2x2 HDR pixels
    base = [{"lq": lq, "hdr": hdr, "sdr_hq": lq.clone()}]
    plain, seen = PatchPairs(base, 16, 2, augment=False, seed=3), set()
    for epoch in range(16):
        item = PatchPairs(base, 16, 2, augment=True, seed=3)[epoch, 0]
        assert torch.equal(item["hdr"], item["lq"].repeat_interleave(2, -1).repeat_interleave(2, -2))
        assert torch.equal(item["sdr_hq"], item["lq"])
        seen.add(torch.equal(item["lq"], plain[epoch, 0]["lq"]))
    assert seen == {True, False}  # some patches were transformed, some (the identity draw) not
