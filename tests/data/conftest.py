"""Fixtures: two tiny EXRs (a textured photo and a grey card) and the tiny set built from them, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdr2hdr.data.build import build

from .data_helpers import grey_exr, textured_exr, tiny_recipe


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sources")
    textured_exr(root / "photo.exr")
    grey_exr(root / "grey.exr")
    return root


@pytest.fixture(scope="session")
def tiny_set(tiny_sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("set") / "built"
    report = build(tiny_sources, out, tiny_recipe(), workers=1, progress=False, log=lambda *_: None)
    assert report.complete
    return out
