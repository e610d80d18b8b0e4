"""DIDNet's scoring protocol: each of the last K checkpoints scored, the tables reporting their mean score ± s.d."""

from __future__ import annotations

import csv
import statistics

import pytest
import torch
from test_bench_cli import _cli

from sdr2hdr.errors import InputError
from sdr2hdr.models import create
from sdr2hdr.train.checkpoint import checkpoint_path, save_checkpoint


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A training run's folder as the trainer leaves it: checkpoints/step_NNNNNNNN.pt with the model state."""
    run = tmp_path_factory.mktemp("run")
    for k, step in enumerate((100, 200, 300, 400)):
        torch.manual_seed(k)  # different weights per checkpoint, so their scores differ
        save_checkpoint(checkpoint_path(run / "checkpoints", step),
                        {"format": 1, "step": step, "model": create("agcm").state_dict()})
    return run


@pytest.fixture(scope="module")
def protocol_out(tiny_set, run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("protocol")
    assert _cli("benchmark", "--data", tiny_set, "--models", "--methods", "bt2446c", "--checkpoints",
                f"agcm={run_dir}", "--last", "3", "--weight-average", "--metrics", "psnr", "ssim", "--qps", "37",
                "--max-frames", "1", "--report-frames", "0", "--out", out, "--device", "cpu", "--quiet") == 0
    return out


def test_each_of_the_last_checkpoints_is_scored_and_the_group_is_their_mean(protocol_out):
    with open(protocol_out / "summary.csv", newline="") as f:
        rows = {r["method"]: r for r in csv.DictReader(f) if r["degradation"] == "all" and r["qp"] == "mean"}
    members = ["agcm@step_00000200", "agcm@step_00000300", "agcm@step_00000400"]
    group = "agcm (mean score of last 3 checkpoints)"
    assert set(rows) == {"bt2446c", group, "agcm@mean_weights_3", *members}
    for metric in ("psnr", "ssim"):
        values = [float(rows[m][metric]) for m in members]
        assert len(set(values)) == 3  # the checkpoints differ, so the spread is not trivially zero
        assert float(rows[group][metric]) == pytest.approx(statistics.mean(values), rel=1e-5)
        assert float(rows[group][f"{metric}_sd"]) == pytest.approx(statistics.stdev(values), rel=1e-4)
    # the weight-averaged model is another model: its own row, its own score
    assert float(rows["agcm@mean_weights_3"]["psnr"]) != pytest.approx(float(rows[group]["psnr"]), abs=1e-6)
    assert rows["bt2446c"]["psnr_sd"] == ""


def test_the_tables_show_mean_plus_minus_spread_and_each_checkpoint(protocol_out):
    md = (protocol_out / "results.md").read_text()
    table1 = md.split("## Table 1: all test clips")[1].split("###")[0]
    group_row = next(line for line in table1.splitlines() if line.startswith("| agcm (mean score of last 3"))
    assert group_row.count(" ± ") >= 3  # PSNR QP37, mean PSNR, mean SSIM
    assert "| agcm (weights averaged over last 3 checkpoints) |" in table1
    assert "step_00000100" not in md  # only the last three
    section = md.split("## Per checkpoint (DIDNet's protocol)")[1]
    assert all(f"| agcm @ step_00000{s}00 |" in section for s in (2, 3, 4))
    with open(protocol_out / "results.csv", newline="") as f:
        scored = {r["method"] for r in csv.DictReader(f)}
    assert {"agcm@step_00000200", "agcm@step_00000400", "agcm@mean_weights_3"} <= scored


def test_too_few_or_foreign_checkpoints_are_refused(tiny_set, run_dir, tmp_path):
    with pytest.raises(InputError, match="has 4 checkpoints, fewer than the 6"):
        _cli("benchmark", "--data", tiny_set, "--models", "--checkpoints", f"agcm={run_dir}", "--quiet")
    with pytest.raises(InputError, match="does not fit"):
        _cli("benchmark", "--data", tiny_set, "--models", "--checkpoints", f"csrnet={run_dir}", "--last", "1",
             "--quiet")
    with pytest.raises(InputError, match="give NAME=DIR"):
        _cli("benchmark", "--data", tiny_set, "--models", "--checkpoints", "agcm", "--quiet")
