"""engine.threads.single_threaded: one torch / BLAS thread inside the block, the previous counts after it."""

import numpy as np
import torch
from threadpoolctl import threadpool_info

from sdr2hdr.engine.threads import single_threaded


def _blas_threads() -> list[int]:
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def test_one_thread_inside_and_the_previous_counts_after():
    np.ones((4, 4)) @ np.ones((4, 4))  # load the BLAS library so that threadpoolctl sees it
    torch.set_num_threads(2)
    blas_before = _blas_threads()
    with single_threaded():
        assert torch.get_num_threads() == 1
        assert all(n == 1 for n in _blas_threads())
    assert torch.get_num_threads() == 2
    assert _blas_threads() == blas_before


def test_counts_are_restored_when_the_block_raises():
    torch.set_num_threads(2)
    try:
        with single_threaded():
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == 2
