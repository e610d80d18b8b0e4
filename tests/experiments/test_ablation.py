"""experiments/ablation.py end to end on one paper (Deep SR-ITM: two arms, two training stages, the uncoded x2 test
input): real training for a few steps, real scoring on a tiny built set's test split, the table with every arm;
a second run finds the arms trained and scored and only rewrites the table."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench.bench_fixture import make_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "ablation.py"


def _module():
    spec = importlib.util.spec_from_file_location("ablation_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up while being made
    spec.loader.exec_module(mod)
    return mod


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    return proc


@pytest.mark.slow  # trains every arm of the three papers' ablations for a few steps
def test_harness_trains_scores_and_tabulates_every_arm(tmp_path):
    data = make_dataset(tmp_path / "set", x2=True)
    out, table = tmp_path / "runs", tmp_path / "results" / "ablation.md"
    args = ["--paper", "deep_sr_itm", "--data", str(data), "--synthetic", "--preset", "cpu-smoke", "--steps", "3",
            "--max-frames", "1", "--out", str(out), "--results", str(table), "--quiet"]
    first = _run(args)
    assert "arm 1/2 'paper': training 3 steps" in first.stderr
    assert "arm 2/2 'no_modulation': training 3 steps" in first.stderr
    # the reference arm kept the config's two stages, rescaled to the budget; the ablation arm trained one stage
    paper_log = list(csv.DictReader((out / "deep_sr_itm" / "paper" / "log.csv").open()))
    assert [r["stage"] for r in paper_log] == ["no_modulation", "no_modulation", "modulation"]
    ablated_log = list(csv.DictReader((out / "deep_sr_itm" / "no_modulation" / "log.csv").open()))
    assert {r["stage"] for r in ablated_log} == {"main"}
    rows = list(csv.DictReader(table.with_suffix(".csv").open()))
    assert [r["arm"] for r in rows] == ["paper", "no_modulation"]
    assert int(rows[0]["params"]) > int(rows[1]["params"])  # the modulation branches are gone
    for r in rows:
        assert r["steps"] == "3" and r["frames_scored"] == "2"  # one frame of each of the 2 test clips
        assert 0 < float(r["psnr"]) < 100 and float(r["delta_e_itp"]) > 0
    assert rows[0]["agrees_psnr"] == "reference" and rows[1]["agrees_psnr"] in ("yes", "no")
    text = table.read_text()
    assert "| no_modulation | plain residual blocks" in text and "35.44 (vs 35.58)" in text
    assert "uncoded bicubic down-scale" in text
    stamp = (out / "deep_sr_itm" / "paper" / "weights" / "last.safetensors").stat().st_mtime
    second = _run(args)
    assert second.stderr.count("trained already (3 steps)") == 2 and "training 3 steps" not in second.stderr
    assert (out / "deep_sr_itm" / "paper" / "weights" / "last.safetensors").stat().st_mtime == stamp
    assert json.loads((out / "deep_sr_itm" / "rows.json").read_text())["rows"][1]["arm"] == "no_modulation"
    # the same folder at another batch is another budget: refused, nothing trained or overwritten
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    third = subprocess.run([sys.executable, str(SCRIPT), *args, "--batch", "4"], capture_output=True, text=True,
                           env=env, timeout=300)
    assert third.returncode == 2 and "was trained with other settings (sets" in third.stderr
    assert (out / "deep_sr_itm" / "paper" / "weights" / "last.safetensors").stat().st_mtime == stamp


@pytest.mark.parametrize(("ours", "paper", "expected"), [
    ((30.0, 29.5), (35.58, 35.44), "yes"),  # both lower without the part
    ((30.0, 30.2), (35.58, 35.44), "no"),
    ((10.0, 10.5), (10.79, 10.97), "yes"),  # Delta E rises in both
    ((30.0, 29.0), None, "n/a"),  # the paper has no such row
    ((30.0, 29.0), (33.0, 33.0), "n/a"),  # the paper saw no difference
    ((30.0, float("nan")), (35.58, 35.44), "n/a"),
    ((25.3461, 25.3460), (34.38, 34.25), "tie"),  # ours did not move: no direction to agree with
])
def test_direction_compares_signs_of_the_differences(ours, paper, expected):
    assert _module().direction(ours, paper) == expected


def test_a_missing_data_set_is_one_line_and_status_2(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--paper", "kpnet", "--data", str(tmp_path / "none"),
                           "--steps", "2", "--out", str(tmp_path / "runs"), "--results", str(tmp_path / "t.md")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("ablation: error:")
    assert "Traceback" not in proc.stderr
