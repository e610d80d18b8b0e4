"""scripts/bench_gpu.py: its CPU dry run goes through every model and writes a table that lists each of them."""

import os
import subprocess
import sys
from pathlib import Path

from sdr2hdr.models import list_models

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_gpu.py"


def test_dry_run_measures_every_registered_model(tmp_path):
    out = tmp_path / "gpu.md"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in out.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| model")]
    assert sorted(cells[0].strip() for cells in rows) == list_models()
    for cells in rows:
        name, notes = cells[0].strip(), cells[-1].strip()
        assert notes == "", (name, notes)
        # a time for the one dry-run size and an end-to-end rate
        assert float(cells[3]) > 0 and float(cells[5]) > 0, name
