"""Two processes under torchrun on gloo: identical weights on both ranks, and the same run as one process."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdr2hdr.train.config import load_config
from sdr2hdr.train.trainer import Trainer

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "didnet_tiny.yaml"
# global batch 4 = 2 per process; DIDNet-Tiny has neither dropout nor batch norm, so one process with the whole
# batch computes the same losses up to float rounding
OVERRIDES = ["train.batch=4"]


def _losses(folder: Path) -> list[float]:
    with (folder / "log.csv").open(newline="") as f:
        return [float(r["loss"]) for r in csv.DictReader(f) if r["loss"]]


def _torchrun(config: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "sdr2hdr.train", str(config), "--preset", "cpu-smoke", "--ddp", "--quiet", "--out", str(out),
           *(a for o in OVERRIDES for a in ("--set", o))]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert len(summary["fingerprints"]) == 2 and summary["fingerprints"][0] == summary["fingerprints"][1]
    assert summary["weights_identical_across_ranks"] is True
    losses = _losses(out)
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)
    # only rank 0 writes
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "log.csv", "summary.json", "weights"]
    return summary


@pytest.mark.slow  # torchrun: two training processes
def test_torchrun_two_gloo_processes_agree_with_each_other_and_with_one_process(tmp_path):
    _torchrun(CONFIG, tmp_path / "ddp")
    cfg = load_config(CONFIG, "cpu-smoke", OVERRIDES)
    Trainer(cfg, tmp_path / "single", progress=False).run()
    assert _losses(tmp_path / "ddp") == pytest.approx(_losses(tmp_path / "single"), rel=1e-5)


@pytest.mark.slow  # torchrun: two training processes
def test_torchrun_keeps_batch_norm_statistics_and_frozen_unused_parameters_in_step(tmp_path):
    # KPNet: batch norm in its coordinate attention (running statistics are buffers, updated per process)
    # and parameters its forward never uses (frozen, or DDP would wait for their gradients)
    _torchrun(CONFIG.with_name("kpnet.yaml"), tmp_path / "ddp")


def test_ddp_flag_outside_torchrun_says_how_to_launch(tmp_path, monkeypatch):
    from sdr2hdr.train.__main__ import main

    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    assert main([str(CONFIG), "--preset", "cpu-smoke", "--ddp", "--out", str(tmp_path / "x")]) == 2
