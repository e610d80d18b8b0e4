"""Every registered model trains with its config's cpu-smoke preset: finite, falling loss; weights export and load."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from safetensors import safe_open

from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import load_weights
from sdr2hdr.train.config import load_config
from sdr2hdr.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


# adaptive_itm and informed_* train through their own commands (tests/train/test_train_adaptive.py)
@pytest.mark.parametrize("name", [n for n in list_models() if not n.startswith(("adaptive_itm", "informed_"))])
def test_cpu_smoke_run_lowers_the_loss_on_a_fixed_batch(name, tmp_path, fixed_pairs):
    # augment off and items == batch == one patch each: every step sees the same batch
    cfg = load_config(CONFIGS / f"{name}.yaml", "cpu-smoke", ["data.augment=false", "train.val_every=1000"])
    model = create(name)
    data = fixed_pairs(cfg.train.batch, cfg.train.patch, model.scale, model.frames, seed=1)
    result = Trainer(cfg, tmp_path, train_set=data, progress=False, preset="cpu-smoke").run()

    assert result.step == cfg.train.steps
    assert len(result.losses) == cfg.train.steps and all(math.isfinite(v) for v in result.losses)
    # per stage: a new stage (Deep SR-ITM's modulation) may restart from a higher loss
    start = 0
    for stage in cfg.resolved_stages():
        losses = result.losses[start:start + stage.steps]
        assert losses[-1] < losses[0], f"{name} stage {stage.name}: {losses}"
        start += stage.steps

    # the exported weights fit a freshly built model of that name (the final stage's network)
    fresh = create(name)
    meta = load_weights(fresh, result.exported["last"])
    assert meta["model"] == name and int(meta["steps"]) == cfg.train.steps


def test_exports_carry_card_and_metadata_and_average_checkpoints(tmp_path, fixed_pairs):
    # DIDNet-Tiny's smoke preset keeps the paper's averaging (2 checkpoints here) and validates
    cfg = load_config(CONFIGS / "didnet_tiny.yaml", "cpu-smoke", ["data.augment=false"])
    model = create("didnet_tiny")
    train = fixed_pairs(2, cfg.train.patch, 1, model.frames, seed=1)
    val = fixed_pairs(2, cfg.train.patch, 1, model.frames, seed=2)
    result = Trainer(cfg, tmp_path, train_set=train, val_set=val, progress=False, preset="cpu-smoke",
                     config_file="configs/didnet_tiny.yaml").run()

    assert set(result.exported) == {"last", "best", "averaged"}
    for kind, path in result.exported.items():
        card = json.loads(path.with_suffix(".json").read_text())
        assert card["name"] == "didnet_tiny" and card["kind"] == kind and card["weights"] == path.name
        assert card["config"]["loss"]["aux"][0] == {"output": "aux_sdr", "target": "sdr_hq", "weight": 0.2}
        assert card["paper_recipe"]
        head = f"{kind} weights after {card['steps']} steps (cpu-smoke preset, generated pairs"
        assert card["summary"].startswith(head)
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
        assert json.loads(meta["config"])["model"]["name"] == "didnet_tiny"
        load_weights(create("didnet_tiny"), path)
    best = json.loads((tmp_path / "weights" / "best.json").read_text())
    assert best["val"]["psnr_db"] == pytest.approx(result.best["val_psnr"])
    averaged = json.loads((tmp_path / "weights" / "averaged.json").read_text())
    assert averaged["averaged_steps"] == [4, 6]  # checkpoints every 2 steps, the last 2 of 6
    header = (tmp_path / "log.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["step", "stage", "epoch", "lr", "loss", "loss_main", "loss_aux_sdr"]
