"""Thread limits for the converter's table paths, where x265 must have the CPU to itself."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one OpenMP / BLAS thread in torch and numpy, then restore the previous counts.

    Beside x265 the table paths do small array operations; with a second OpenMP or OpenBLAS thread every one
    of them wakes a worker that then spins waiting for more work and meets x265 at a barrier on a busy core.
    Measured on 2 cores, 48 frames of 1080p with the default model: 554 ms of CPU per frame in all with the
    threads, 295 ms without (the table builds included).
    """
    torch = sys.modules.get("torch")  # not imported: no torch thread runs (a classical mapping needs none)
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)
