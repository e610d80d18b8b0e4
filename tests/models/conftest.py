"""Model tests run on tiny tensors: one thread avoids oversubscribing the cores when test workers run in parallel."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """torch.set_num_threads(1) for the test, restored afterwards (the setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
