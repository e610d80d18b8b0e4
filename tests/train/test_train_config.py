"""Configs: every model's YAML loads with its presets and the paper's recipe; bad keys and types are refused by name."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from sdr2hdr.errors import InputError
from sdr2hdr.models import list_models
from sdr2hdr.train.checkpoint import average_state_dicts, save_checkpoint
from sdr2hdr.train.config import ScheduleConfig, available_presets, load_config
from sdr2hdr.train.schedules import lr_factor

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

GOOD = """
model: {name: csrnet}
optim: {lr: 5e-4}
train: {steps: 10, batch: 2, patch: 32}
presets:
  cpu-smoke: {train: {steps: 2}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


# adaptive_itm and informed_* have trainers of their own (train-adaptive on the generator's pool, train-informed
# on one curve's clips), tested in tests/train/test_train_adaptive.py
YAML_TRAINED = [n for n in list_models() if not n.startswith(("adaptive_itm", "informed_"))]


def test_every_registered_model_has_a_config_with_the_three_presets():
    for name in YAML_TRAINED:
        path = CONFIGS / f"{name}.yaml"
        assert path.is_file(), name
        assert {"paper", "cpu-smoke", "cpu-small"} <= set(available_presets(path)), name
        for preset in ("paper", "cpu-smoke", "cpu-small"):
            assert load_config(path, preset).model.name == name


def test_paper_presets_carry_the_papers_recipes():
    kp = load_config(CONFIGS / "kpnet.yaml")
    assert (kp.loss.kind, kp.optim.lr, kp.schedule.milestones, kp.train.steps, kp.train.batch, kp.train.patch) == \
        ("l1", 2e-4, [200000, 300000, 400000, 500000], 550000, 12, 160)
    did = load_config(CONFIGS / "didnet.yaml")
    assert did.loss.main_weight == 0.8 and [(a.output, a.target, a.weight) for a in did.loss.aux] == \
        [("aux_sdr", "sdr_hq", 0.2)]
    assert (did.optim.lr, did.schedule.kind, did.schedule.start, did.schedule.every, did.train.steps) == \
        (5e-4, "step_after", 100000, 60000, 660000)
    assert did.train.average_last == 6 and did.data.qp == [37]
    sr = load_config(CONFIGS / "deep_sr_itm_x2.yaml")
    assert [(s.steps, s.model_kwargs) for s in sr.stages] == [(490000, {"modulation": False}),
                                                              (660000, {"modulation": True})]
    assert (sr.loss.kind, sr.optim.lr, sr.optim.bias_lr_mult) == ("l2", 5e-7, 0.1)
    assert load_config(CONFIGS / "hdrunet.yaml").loss.kind == "tanh_l1"


@pytest.mark.parametrize("text, key", [
    (GOOD.replace("optim: {lr: 5e-4}", "optim: {lr: 5e-4, lrr: 1}"), "'optim.lrr' is not known"),
    (GOOD + "schedul: {kind: cosine}\n", "'schedul' is not known"),
    (GOOD.replace("{steps: 2}", "{steps: 2, batchh: 4}"), "'presets.cpu-smoke.train.batchh' is not known"),
    (GOOD.replace("batch: 2", "batch: '2'"), "'train.batch' must be an integer, got '2'"),
    (GOOD.replace("batch: 2", "batch: true"), "'train.batch' must be an integer, got True"),
    (GOOD.replace("lr: 5e-4", "lr: fast"), "'optim.lr' must be a number, got 'fast'"),
    (GOOD.replace("{steps: 2}", "{steps: 2.5}"), "'presets.cpu-smoke.train.steps' must be an integer"),
    (GOOD + "loss: {kind: l3}\n", "'loss.kind' must be one of 'l1', 'l2', 'tanh_l1', 'tanh_l2'"),
    (GOOD + "loss: {aux: [{output: aux_sdr, target: sdr_hq, weight: heavy}]}\n",
     "'loss.aux[0].weight' must be a number"),
    (GOOD + "loss: {aux: [{output: aux_sdr, target: sdr_hq, weight: 0.2}]}\n", "'loss.aux[0].output'"),
    (GOOD + "stages: [{name: a, stepz: 3}]\n", "'stages[0].stepz' is not known"),
    (GOOD.replace("csrnet", "nonet"), "'model.name': unknown model 'nonet'"),
    (GOOD.replace("{name: csrnet}", "{name: csrnet, kwargs: {modulation: false}}"), "'model.kwargs'"),
    (GOOD.replace("csrnet", "deep_sr_itm_x4").replace("patch: 32", "patch: 30"), "'train.patch'"),
    (GOOD.replace("train: {", "train: {device: tpu, "), "'train.device'"),
    (GOOD + "schedule: {kind: multistep, milestones: [5, 3]}\n", "'schedule.milestones'"),
    (GOOD.replace("model: {name: csrnet}", ""), "'model' is missing"),
])
def test_bad_configs_are_refused_naming_the_key(tmp_path, text, key):
    with pytest.raises(InputError) as err:
        load_config(_write(tmp_path, text), "cpu-smoke")
    assert key in str(err.value)


def test_floats_in_exponent_form_overrides_and_unknown_presets(tmp_path):
    path = _write(tmp_path, GOOD)
    cfg = load_config(path, "cpu-smoke", ["train.batch=4", "schedule.milestones=[4, 8]", "schedule.kind=multistep"])
    assert (cfg.optim.lr, cfg.train.batch, cfg.train.steps, cfg.schedule.milestones) == (5e-4, 4, 2, [4, 8])
    with pytest.raises(InputError, match="'train.bacth' is not known"):
        load_config(path, "cpu-smoke", ["train.bacth=4"])
    with pytest.raises(InputError, match="no preset 'gpu'.*cpu-smoke"):
        load_config(path, "gpu")


def test_cli_refuses_a_bad_config_in_one_line_before_anything_runs(tmp_path, capsys):
    from sdr2hdr.train.__main__ import main

    path = _write(tmp_path, GOOD.replace("batch: 2", "batch: two"))
    out = tmp_path / "run"
    assert main([str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'train.batch' must be an integer" in err
    assert not out.exists()
    assert main([str(_write(tmp_path, GOOD)), "--preset", "cpu-smoke", "--out", str(out)]) == 2
    assert "no data set given" in capsys.readouterr().err


def test_schedules():
    multi = ScheduleConfig(kind="multistep", milestones=[2, 4], gamma=0.5)
    assert [lr_factor(multi, s, 10, 1.0) for s in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    after = ScheduleConfig(kind="step_after", start=100000, every=60000, gamma=0.5)
    assert [lr_factor(after, s, 660000, 5e-4) for s in (99999, 100000, 159999, 160000, 659999)] == \
        [1, 0.5, 0.5, 0.25, 0.5 ** 10]
    cos = ScheduleConfig(kind="cosine", min_lr=1e-6)
    assert lr_factor(cos, 0, 100, 1e-4) == 1.0
    assert lr_factor(cos, 50, 100, 1e-4) == pytest.approx((1 + 0.01) / 2)
    assert lr_factor(cos, 100, 100, 1e-4) == pytest.approx(0.01)
    warm = ScheduleConfig(kind="constant", warmup=4)
    assert [lr_factor(warm, s, 10, 1.0) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_checkpoint_average_is_the_mean_of_the_weights(tmp_path):
    paths = []
    for i in range(3):
        state = {"w": torch.full((2, 2), float(i)), "n": torch.tensor(i)}
        paths.append(save_checkpoint(tmp_path / f"step_{i:08d}.pt", {"model": state}))
    avg = average_state_dicts(paths)
    assert torch.equal(avg["w"], torch.full((2, 2), 1.0)) and avg["n"].item() == 2
    assert math.isclose(float(avg["w"][0, 0]), 1.0)
