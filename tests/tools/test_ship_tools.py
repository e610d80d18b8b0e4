"""sdr2hdr.tools.ship_adaptive and sdr2hdr.tools.ship_weights write shipped cards through models.weights: the
weights copied, the card beside them naming their sha256, the default mark moved to the winner."""

import csv
import importlib
import json
from pathlib import Path

import torch

from sdr2hdr.models import create
from sdr2hdr.models.weights import file_sha256, save_weights, write_card


def _run(tool: str, args: list[str], weights_dir: Path, monkeypatch) -> None:
    """The tool's main in this process (the package is imported already), writing into weights_dir."""
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(weights_dir))
    module = importlib.import_module(f"sdr2hdr.tools.{tool}")
    assert module.main(args) in (None, 0)


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_ship_adaptive_writes_the_card_and_moves_the_default(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    torch.manual_seed(0)
    save_weights(create("kpnet"), shipped / "kpnet.safetensors")
    write_card(shipped / "kpnet.safetensors", {"model": "kpnet", "default": True, "summary": "old default"})
    run = tmp_path / "run"
    run.mkdir()
    save_weights(create("adaptive_itm"), run / "weights.safetensors")
    write_card(run / "weights.safetensors", {"model": "adaptive_itm", "steps": 20, "batch": 4, "wall_seconds": 60.0})
    rows = [{"method": m, "curve": c, "qp": 37, "psnr": p + (c == "aces"), "delta_e_itp": 30}
            for m, p in (("learned", 27.0), ("bt2446a", 25.0), ("bt2408", 24.0)) for c in ("aces", "hable")]
    _run("ship_adaptive", [str(run), "--heldout", str(_csv(tmp_path / "heldout.csv", rows))], shipped, monkeypatch)
    card = json.loads((shipped / "adaptive_itm.s20.json").read_text())  # tag s<steps>: a new file, never in place
    assert card["weights"] == "adaptive_itm.s20.safetensors" and card["default"] is True
    assert card["tag"] == "s20" and card["default_tag"] is True
    digest = file_sha256(run / "weights.safetensors")
    assert card["sha256"] == file_sha256(shipped / "adaptive_itm.s20.safetensors") == digest
    assert card["training"]["steps"] == 20 and card["heldout_curves"]["best_fixed_classical"] == "bt2446a"
    assert json.loads((shipped / "kpnet.json").read_text())["default"] is False


def test_ship_weights_joins_the_trainer_card_and_the_benchmark(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    run = tmp_path / "run"
    (run / "weights").mkdir(parents=True)
    save_weights(create("dncnn"), run / "weights" / "best.safetensors")
    write_card(run / "weights" / "best.safetensors",
               {"name": "dncnn", "kind": "best", "steps": 10, "preset": "cpu-smoke", "config": {"model": {}},
                "data": {"source": "synthetic", "qp": [37]}, "val": {"psnr_db": None}})
    rows = [{"method": m, "kind": k, "qp": "37", "degradation": "all", "psnr": p, "ssim": 0.9, "ms_ssim": 0.9,
             "delta_e_itp": 30} for m, k, p in (("dncnn", "model", 28.0), ("bt2446a", "classical", 27.0))]
    _run("ship_weights", [f"{run}:best", "--bench", str(_csv(tmp_path / "summary.csv", rows))], shipped, monkeypatch)
    card = json.loads((shipped / "dncnn.cpu_smoke_s10.json").read_text())
    assert card["summary"].startswith("best weights after 10 steps (cpu-smoke preset, generated pairs")
    # beating the best classical in distribution is recorded, but only the held-out protocol picks the default
    assert card["beats_best_classical"] is True and card["default"] is False
    assert card["sha256"] == file_sha256(shipped / "dncnn.cpu_smoke_s10.safetensors")


def test_a_name_with_no_shipped_weights_is_refused_on_one_line_with_status_2(tmp_path, monkeypatch, capsys):
    from sdr2hdr.tools import exit_status, ship_weights

    shipped = tmp_path / "shipped"
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(shipped))
    rows = [{"method": m, "kind": k, "qp": "37", "degradation": "all", "psnr": 27.0, "ssim": 0.9, "ms_ssim": 0.9,
             "delta_e_itp": 30} for m, k in (("dncnn", "model"), ("bt2446a", "classical"))]
    bench = _csv(tmp_path / "summary.csv", rows)
    assert exit_status(lambda: ship_weights.main(["nosuch", "--bench", str(bench)]), "ship_weights") == 2
    assert capsys.readouterr().err == (
        "ship_weights: error: no shipped weights named nosuch (and nosuch is not RUN_DIR:KIND)\n")
    assert list(shipped.glob("*.json")) == []  # nothing shipped
