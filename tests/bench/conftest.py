"""Fixtures of the benchmark tests: a tiny data set built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_fixture import make_dataset


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("bench") / "set", x2=True)
