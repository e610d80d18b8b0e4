"""The long stress checks, run short so that they cannot rot between their long runs: tiling on a small picture
(check_tiling; the fuzz check runs in tests/reliability/test_fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress import check_tiling


@pytest.mark.slow
def test_tiled_output_matches_whole_frame_on_a_small_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_tiling, "EXR", tmp_path / "absent.exr")  # the bundled sample, whatever datasets/ holds
    picture, source = check_tiling.load_picture(None)
    assert source.endswith("sample_sdr.mp4")
    picture = check_tiling.resize(picture, 128, 160)
    assert tuple(picture.shape) == (1, 3, 128, 160)
    row = check_tiling.check("dncnn", picture, tile=64, side=128)
    assert row["model"] == "dncnn" and row["output"] == "160x128"
    assert row["max"] <= 2.0 and row["mean"] < 0.5  # the check's own pass mark: within 2 10-bit codes
    table = check_tiling.table([row], 64, source)
    assert "| dncnn |" in table and "64-pixel tiles" in table
