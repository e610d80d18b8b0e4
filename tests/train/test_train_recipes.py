"""Recipes as the papers ran them: KPNet's paper preset wants an intra-coded set; eq. 12's refine order as a choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clip_tools import run_cli

from sdr2hdr.errors import InputError
from sdr2hdr.train.config import config_to_dict, load_config
from sdr2hdr.train.data import build_datasets
from sdr2hdr.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
KPNET = CONFIGS / "kpnet.yaml"


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory) -> dict[bool, Path]:
    """The same two HDR stills built twice, 64x64, 2 frames at QP 37: with x265's GOPs (False) and intra-only (True)."""
    import cv2

    from sdr2hdr.data.build import build
    from sdr2hdr.data.recipe import Recipe
    from sdr2hdr.io import write_exr

    sources = tmp_path_factory.mktemp("sources")
    for k in range(2):
        noise = cv2.GaussianBlur(np.random.default_rng(k).standard_normal((96, 128, 3)).astype(np.float32), (0, 0), 3)
        write_exr(sources / f"photo{k}.exr", (np.exp2(4 * noise / np.abs(noise).max()) * 0.2).astype(np.float32),
                  half=False)
    sets = {}
    for intra in (False, True):
        recipe = Recipe(seed=1, size=(64, 64), frames=2, clips_per_source={"train": 1, "test": 1}, test_fraction=0.5,
                        qps=(37,), scales=(1,), x265_preset="ultrafast", exposure_stops=(0.0, 0.0), intra_only=intra)
        out = tmp_path_factory.mktemp("set") / ("intra" if intra else "gop")
        assert build(sources, out, recipe, workers=1, progress=False, log=lambda *_: None).complete
        sets[intra] = out
    return sets


def test_paper_preset_asks_for_intra_and_the_cpu_presets_name_their_departure():
    assert load_config(KPNET).data.require_intra is True
    assert load_config(KPNET, "cpu-small").data.require_intra is False
    assert load_config(KPNET, "cpu-smoke").data.require_intra is False
    assert "Departure, named" in KPNET.read_text()


def test_a_gop_coded_set_is_refused_and_an_intra_one_loads(tiny_sets):
    cfg = load_config(KPNET, "paper", ["data.val_sources=0"])
    with pytest.raises(InputError, match="--intra"):
        build_datasets(cfg.data, 1, 1, 32, str(tiny_sets[False]), progress=False)
    train, _ = build_datasets(cfg.data, 1, 1, 32, str(tiny_sets[True]), progress=False)
    assert train[0]["lq"].shape == (3, 32, 32)
    # the named departure: cpu-small trains on the GOP-coded set
    small = load_config(KPNET, "cpu-small", ["data.val_sources=0"])
    assert len(build_datasets(small.data, 1, 1, 32, str(tiny_sets[False]), progress=False)[0]) > 0
    # nothing coded, nothing to check: the uncoded input passes
    uncoded = load_config(KPNET, "paper", ["data.qp=[null]", "data.val_qp=[null]"])
    assert len(build_datasets(uncoded.data, 1, 1, 32, str(tiny_sets[False]), progress=False)[0]) > 0


def test_cli_refuses_a_gop_coded_set_in_one_line_that_says_how_to_build_one(tiny_sets, tmp_path):
    out = tmp_path / "run"
    res = run_cli("train", KPNET, "--data", tiny_sets[False], "--out", out, "--quiet")
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("sdr2hdr: error: ") and "data.require_intra" in lines[0]
    assert "`sdr2hdr data build --sources SRC --out DIR --intra`" in lines[0]
    assert not out.exists()  # refused before the run folder is made


def test_a_run_checkpointed_before_the_key_existed_still_resumes(tmp_path):
    cfg = load_config(KPNET, "cpu-small")
    saved = config_to_dict(cfg)
    del saved["data"]["require_intra"]
    Trainer(cfg, tmp_path, progress=False)._check_resume_config(saved)  # no InputError


def test_kpnet_refine_order_is_a_config_choice_and_a_bad_one_is_named(tmp_path, fixed_pairs):
    cfg = load_config(KPNET, "cpu-smoke", ["model.kwargs.refine=eq12", "train.steps=2", "data.augment=false"])
    data = fixed_pairs(2, 32, 1, 1)
    result = Trainer(cfg, tmp_path, train_set=data, val_set=data, progress=False).run()
    assert result.step == 2 and np.isfinite(result.losses).all()
    with pytest.raises(InputError, match="'model.kwargs'.*authors, eq12"):
        load_config(KPNET, "cpu-smoke", ["model.kwargs.refine=paper"])
