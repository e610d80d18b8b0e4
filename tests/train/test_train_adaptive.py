"""`sdr2hdr train-adaptive`: adaptive_itm trained on a generator pool, its card, resuming, leaving a curve out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clip_tools import run_cli

from sdr2hdr.cli import main
from sdr2hdr.models import count_params, create
from sdr2hdr.models.weights import load_weights
from sdr2hdr.tonemap import bt2408_direct

FAMILIES = ["filmic", "hable", "filmic", "camera"]  # per sample of each shard
SIZE = 32


def _pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth SDR crop and its HDR: BT.2408's direct mapping with SDR white at 400 cd/m2 (twice the untrained
    model's 203), so that training has something to learn."""
    import cv2

    base = rng.uniform(0.05, 1.0, (5, 5, 3)).astype(np.float32)
    sdr = np.clip(cv2.resize(base, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR), 0, 1)
    sdr8 = np.rint(sdr * 255).astype(np.uint8)
    pq = np.asarray(bt2408_direct(sdr8.astype(np.float64) / 255, white=400.0))
    return sdr8, np.clip(np.rint(pq * 65535), 0, 65535).astype(np.uint16)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """Two shards in the format data.generator writes (sdr uint8, hdr uint16 PQ, records as JSON)."""
    root = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(0)
    for k in range(2):
        pairs = [_pair(rng) for _ in FAMILIES]
        recs = [{"family": f, "source": "synthetic", "grade": {}, "params": {}, "codec": None, "resampled": None}
                for f in FAMILIES]
        np.savez(root / f"shard-{k:04d}.npz", sdr=np.stack([p[0] for p in pairs]),
                 hdr=np.stack([p[1] for p in pairs]), records=np.array(json.dumps(recs)))
    return root


def _l1(model, pool: Path) -> float:
    from sdr2hdr.data.generator import load_pool

    sdr, hdr, _ = load_pool(pool)
    x = torch.from_numpy(sdr).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(hdr.astype(np.float32)).permute(0, 3, 1, 2) / 65535
    with torch.no_grad():
        return float((model.eval()(x) - y).abs().mean())


def _log_steps(run: Path) -> list[int]:
    with open(run / "log.csv") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def run(pool, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "adaptive"
    res = run_cli("train-adaptive", pool, "--out", out, "--steps", "20", "--batch", "4")
    assert res.returncode == 0, res.stderr
    assert "20 steps" in res.stdout
    return out


def test_training_writes_weights_and_a_card(run, pool):
    assert {"weights.safetensors", "weights.json", "log.csv", "checkpoint.pt"} <= {p.name for p in run.iterdir()}
    card = json.loads((run / "weights.json").read_text())
    assert card["model"] == "adaptive_itm" and card["steps"] == 20 and card["batch"] == 4
    assert card["params"] == count_params(create("adaptive_itm"))
    assert card["data"]["samples"] == 2 * len(FAMILIES) and card["data"]["left_out"] == []
    assert card["data"]["families"] == sorted(set(FAMILIES))
    assert card["data"]["recipe"] == "configs/data/generated.yaml"
    assert card["wall_seconds"] > 0 and np.isfinite(card["final_loss_l1_pq"])
    assert _log_steps(run) == [20]


def test_trained_weights_load_and_fit_the_pool_better_than_the_start(run, pool):
    torch.manual_seed(0)
    start = _l1(create("adaptive_itm"), pool)
    trained = create("adaptive_itm")
    load_weights(trained, run / "weights.safetensors")
    assert torch.count_nonzero(trained.estimator.mlp[-1].weight) > 0  # the zero output layer has moved
    assert _l1(trained, pool) < 0.8 * start


def test_resume_continues_without_redoing_steps(run, pool, tmp_path, capsys):
    import shutil

    copy = tmp_path / "resumed"
    shutil.copytree(run, copy)
    assert main(["train-adaptive", str(pool), "--out", str(copy), "--steps", "30", "--batch", "4", "--resume"]) == 0
    said = capsys.readouterr().out
    assert "resumed at step 20" in said
    assert _log_steps(copy) == [20, 30]  # the log goes on from step 20: nothing done twice
    card = json.loads((copy / "weights.json").read_text())
    before = json.loads((run / "weights.json").read_text())
    assert card["steps"] == 30 and card["wall_seconds"] >= before["wall_seconds"]
    assert torch.load(copy / "checkpoint.pt", weights_only=True)["step"] == 30
    # resuming a finished run does no step, keeps the weights, and still writes its card
    before = (copy / "weights.safetensors").read_bytes()
    assert main(["train-adaptive", str(pool), "--out", str(copy), "--steps", "30", "--batch", "4", "--resume"]) == 0
    assert "resumed at step 30" in capsys.readouterr().out
    assert (copy / "weights.safetensors").read_bytes() == before
    assert _log_steps(copy) == [20, 30]
    card2 = json.loads((copy / "weights.json").read_text())
    assert card2["steps"] == 30 and card2["final_loss_l1_pq"] == card["final_loss_l1_pq"]


def test_exclude_leaves_a_family_out(pool, tmp_path, capsys):
    out = tmp_path / "loco"
    assert main(["train-adaptive", str(pool), "--out", str(out), "--steps", "2", "--batch", "2",
                 "--exclude", "hable"]) == 0
    card = json.loads((out / "weights.json").read_text())
    assert card["data"]["left_out"] == ["hable"] and "hable" not in card["data"]["families"]
    assert card["data"]["samples"] == 2 * (len(FAMILIES) - FAMILIES.count("hable"))


def test_unknown_family_and_missing_pool_are_one_line_errors(pool, tmp_path, capsys):
    assert main(["train-adaptive", str(pool), "--out", str(tmp_path / "x"), "--exclude", "aces"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot leave out 'aces'" in err
    assert main(["train-adaptive", str(tmp_path / "nowhere"), "--out", str(tmp_path / "y")]) == 2
    assert "no such pool folder" in capsys.readouterr().err


def test_init_from_weights_made_before_the_grade_input(pool, tmp_path):
    """--init with weights that lack the grading-convention layer (the earlier shipped default) starts the local
    branch on top of them, the missing layer at zero, as load_weights fills it."""
    from safetensors.torch import load_file

    from sdr2hdr.models.weights import shipped_weights
    from sdr2hdr.train.adaptive import train_adaptive

    old = shipped_weights("adaptive_itm.gen_s5000")
    assert "estimator.grade.weight" not in load_file(str(old))
    run = tmp_path / "local"
    train_adaptive(pool, run, model_name="adaptive_itm_local", steps=2, batch=2, init=old, progress=False,
                   log=lambda *a: None)
    state = load_file(str(run / "weights.safetensors"))
    assert torch.count_nonzero(state["estimator.grade.weight"]) == 0  # only the local branch trained
    assert torch.equal(state["estimator.mlp.0.weight"], load_file(str(old))["estimator.mlp.0.weight"])
