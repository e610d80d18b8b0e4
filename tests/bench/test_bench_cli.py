"""`sdr2hdr benchmark` and `sdr2hdr evaluate` end to end: results.csv, results.md, plots and report.html."""

from __future__ import annotations

import csv

import pytest
import torch
from bench_fixture import QPS

from sdr2hdr.errors import InputError
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights


def _cli(*argv) -> int:
    """The CLI's own parser when it has the bench commands, else one made from bench.commands.register alone."""
    from sdr2hdr import cli
    from sdr2hdr.bench.commands import register

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    if "benchmark" not in sub.choices:
        parser = cli._Parser(prog="sdr2hdr")
        register(parser.add_subparsers(dest="command", required=True, parser_class=cli._Parser))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture(scope="module")
def bench_out(tiny_set, tmp_path_factory):
    weights = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    save_weights(create("agcm"), weights / "agcm.safetensors")  # untrained: only the plumbing is under test
    out = tmp_path_factory.mktemp("bench_out")
    assert _cli("benchmark", "--data", tiny_set, "--models", "agcm", "kpnet", "--weights-dir", weights,
                "--max-frames", "1", "--report-frames", "2", "--out", out, "--quiet") == 0
    return out


def test_benchmark_writes_csv_rows_for_every_method_qp_and_degradation(bench_out):
    rows = list(csv.DictReader(open(bench_out / "results.csv")))
    assert {"method", "kind", "qp", "degradation", "clip", "frame", "ms", "psnr", "ssim", "ms_ssim",
            "delta_e_itp"} <= set(rows[0])
    got = {(r["method"], int(r["qp"]), r["degradation"]) for r in rows}
    want = {(m, qp, d) for m in ("bt2408", "bt2446a", "bt2446c", "agcm") for qp in QPS
            for d in ("bt2446c", "hable")}
    assert got == want
    summary = list(csv.DictReader(open(bench_out / "summary.csv")))
    assert any(r["method"] == "agcm" and r["degradation"] == "all" and r["qp"] == "mean" and
               int(r["params"]) > 0 for r in summary)


def test_results_md_has_the_papers_tables_overall_and_per_degradation(bench_out):
    md = (bench_out / "results.md").read_text()
    assert "## Table 1: all test clips" in md
    header = next(line for line in md.splitlines() if line.startswith("| Method | Params"))
    assert all(f"PSNR QP{qp}" in header for qp in QPS) and "Mean ΔE ITP" in header and "ms/frame" in header
    for label in ("BT.2408 direct (white 203 cd/m2)", "BT.2446 A inverse (white 1000 cd/m2)",
                  "BT.2446 C inverse (white 332 cd/m2)", "| agcm | 0.035 |"):
        assert label in md
    assert "### Degradation model `bt2446c`" in md and "### Degradation model `hable`" in md
    assert "no weights in" in md and "kpnet" in md  # the skipped model is named


def test_plots_and_html_report_exist(bench_out):
    for name in ("psnr_vs_ms", "psnr_vs_qp", "ssim_vs_qp", "ms_ssim_vs_qp", "delta_e_itp_vs_qp",
                 "psnr_vs_qp_by_degradation"):
        assert (bench_out / "plots" / f"{name}.png").stat().st_size > 5000
    page = (bench_out / "report.html").read_text()
    assert "BT.2390 EETF" in page and "BT.1886" in page  # how HDR is shown on an SDR screen is stated
    images = [p.name for p in (bench_out / "report_files").iterdir()]
    assert sum(n.endswith("_deitp.png") for n in images) == 2 * 4
    assert sum(n.endswith("_target.png") for n in images) == 2
    assert all(f"report_files/{n}" in page for n in images)


def test_evaluate_one_classical_mapping_prints_its_table(tiny_set, tmp_path, capsys):
    assert _cli("evaluate", "--model", "bt2446c", "--data", tiny_set, "--qp", QPS[0], "--metrics", "psnr",
                "--max-frames", "1", "--quiet", "--out", tmp_path / "ev") == 0
    out = capsys.readouterr().out
    assert "BT.2446 C inverse" in out and f"PSNR QP{QPS[0]}" in out and f"QP{QPS[1]}" not in out
    assert (tmp_path / "ev" / "results.md").is_file()


def test_evaluate_a_model_with_a_weights_file(tiny_set, tmp_path, capsys):
    path = save_weights(create("agcm"), tmp_path / "a.safetensors")
    assert _cli("evaluate", "--model", "agcm", "--weights", path, "--data", tiny_set, "--metrics", "psnr",
                "--max-frames", "1", "--report-frames", "0", "--quiet") == 0
    assert "| agcm | 0.035 |" in capsys.readouterr().out


def test_a_data_folder_without_a_manifest_is_refused(tmp_path):
    with pytest.raises(InputError, match="has no manifest"):
        _cli("benchmark", "--data", tmp_path, "--out", tmp_path / "o")
    with pytest.raises(InputError, match="has no manifest"):
        _cli("evaluate", "--method", "bt2408", "--data", tmp_path)
    assert not (tmp_path / "o").exists()


def test_unknown_models_and_metrics_are_refused(tiny_set):
    with pytest.raises(InputError, match="unknown model 'nope'"):
        _cli("evaluate", "--model", "nope", "--data", tiny_set)
    with pytest.raises(InputError, match="invalid choice"):
        _cli("benchmark", "--data", tiny_set, "--metrics", "lpips")


def test_evaluate_the_mean_of_the_last_checkpoints(tiny_set, tmp_path):
    import numpy as np

    model = create("agcm")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    for step in (10, 20, 30):
        torch.save({"model": model.state_dict(), "rng": np.random.get_state()},
                   tmp_path / "run" / "checkpoints" / f"step_{step:08d}.pt")
    assert _cli("evaluate", "--model", "agcm", "--average-last", 2, tmp_path / "run", "--data", tiny_set,
                "--metrics", "psnr", "--max-frames", "1", "--report-frames", "0", "--quiet",
                "--out", tmp_path / "ev") == 0
    md = (tmp_path / "ev" / "results.md").read_text()
    assert "agcm: mean weights of 2 checkpoints step_00000020.pt..step_00000030.pt" in md
