"""Exact resume: a run stopped and resumed logs the same losses, bit for bit, as one that never stopped."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from sdr2hdr.errors import InputError
from sdr2hdr.models import create
from sdr2hdr.train.config import load_config
from sdr2hdr.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _rows(folder: Path) -> list[dict]:
    with (folder / "log.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _run(cfg, out, data, val=None, **kw):
    return Trainer(cfg, out, train_set=data, val_set=val, progress=False, **kw).run()


# agcm: dropout in its condition net, so the RNG state must come back too; augmentation on, so the patch
# positions must follow the step; the stopped run validates at step 5, the whole one does not (validation must
# leave the training RNG alone). deep_sr_itm_x4 resumes exactly at its stage boundary (modulation switched on).
@pytest.mark.parametrize("name, stop", [("agcm", 5), ("deep_sr_itm_x4", 3)])
def test_resumed_run_continues_bit_for_bit(name, stop, tmp_path, fixed_pairs):
    cfg = load_config(CONFIGS / f"{name}.yaml", "cpu-smoke",
                      ["data.augment=true", "train.val_every=2", "train.ckpt_every=100"])
    model = create(name)
    # items larger than the patch: random crops, several batches per epoch
    data = fixed_pairs(6, 2 * cfg.train.patch, model.scale, model.frames, seed=3)
    val = fixed_pairs(2, cfg.train.patch, model.scale, model.frames, seed=4)

    whole = _run(cfg, tmp_path / "whole", data, val)
    first = _run(cfg, tmp_path / "split", data, val, max_steps=stop)
    assert first.step == stop
    # a resumed run is a new process: its generators start elsewhere, the checkpoint must bring them back
    torch.manual_seed(12345)
    random.seed(12345)
    np.random.seed(12345)
    second = _run(cfg, tmp_path / "split", data, val, resume=True)

    assert second.step == whole.step == cfg.train.steps
    a, b = _rows(tmp_path / "whole"), _rows(tmp_path / "split")
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b):
        # repr'd floats in the log: equal strings mean equal bits
        assert (ra["loss"], ra["lr"], ra["grad_norm"]) == (rb["loss"], rb["lr"], rb["grad_norm"]), ra["step"]
        # the stopped run also validated where it stopped; where both validated, they agree
        if ra["val_psnr"] and rb["val_psnr"]:
            assert ra["val_psnr"] == rb["val_psnr"]
    assert whole.fingerprints == second.fingerprints


def test_resume_refuses_a_changed_recipe_and_a_fresh_run_refuses_an_existing_one(tmp_path, fixed_pairs):
    cfg = load_config(CONFIGS / "csrnet.yaml", "cpu-smoke")
    data = fixed_pairs(4, cfg.train.patch, 1, 1)
    _run(cfg, tmp_path, data, max_steps=3)
    changed = load_config(CONFIGS / "csrnet.yaml", "cpu-smoke", ["optim.lr=0.01"])
    with pytest.raises(InputError, match="optim.lr was 0.001, now 0.01"):
        _run(changed, tmp_path, data, resume=True)
    with pytest.raises(InputError, match="already holds a run"):
        _run(cfg, tmp_path, data)
    with pytest.raises(InputError, match="no checkpoint"):
        _run(cfg, tmp_path / "empty", data, resume=True)
    # bookkeeping may change: a longer run continues
    longer = load_config(CONFIGS / "csrnet.yaml", "cpu-smoke", ["train.steps=8", "train.log_every=2"])
    assert _run(longer, tmp_path, data, resume=True).step == 8
