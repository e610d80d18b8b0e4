"""Metric tests run single-threaded on small PQ images (see metric_images.py)."""

from __future__ import annotations

import pytest
import torch

from metric_images import pq_scene


@pytest.fixture(autouse=True)
def single_thread():
    """torch.set_num_threads(1) for the test, restored afterwards (the setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def scene():
    """Two 64x64 PQ images, float32."""
    return pq_scene()
