"""sdr2hdr.tools.bench_models: its CPU dry run goes through every model and writes a table that lists each of them;
several precisions at a size of one's own give a column pair each (the fp32 against bf16 comparison on the CPU)."""

from sdr2hdr.models import count_params, create, list_models
from sdr2hdr.tools import bench_models


def _rows(text: str) -> dict[str, list[str]]:
    rows = [line.split("|")[1:-1] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| model")]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


def test_dry_run_measures_every_registered_model(tmp_path):
    out = tmp_path / "gpu.md"
    assert bench_models.main(["--dry-run", "--out", str(out)]) == 0
    rows = _rows(out.read_text())
    assert sorted(rows) == list_models()
    for name, cells in rows.items():
        assert cells[-1] == "", (name, cells[-1])  # no notes: nothing failed or was skipped
        assert int(cells[3].replace(",", "")) == count_params(create(name))
        # a time for the one dry-run size and an end-to-end rate
        assert float(cells[4]) > 0 and float(cells[6]) > 0, name


def test_two_precisions_at_one_size_give_a_column_pair_each(tmp_path):
    out = tmp_path / "cpu.md"
    args = ["--out", str(out), "--device", "cpu", "--models", "dncnn", "--size", "48x32", "--precision", "fp32",
            "bf16", "--iters", "1", "--warmup", "0", "--e2e-frames", "1", "--batch", "1"]
    assert bench_models.main(args) == 0
    text = out.read_text()
    assert "| ms/frame 48x32 fp32 | fps 48x32 fp32 | ms/frame 48x32 bf16 | fps 48x32 bf16 |" in text
    assert "fp32 and bf16 autocast" in text
    cells = _rows(text)["dncnn"]
    assert float(cells[4]) > 0 and float(cells[6]) > 0 and cells[-1] == ""
