"""Mutated and truncated files through the real command line: exit 0 or 2 only, never a traceback, a hang, a
changed input or a leftover file (a seeded, bounded run; tests/stress/fuzz_convert.py runs longer)."""

from __future__ import annotations

import pytest
from stress import fuzz_convert as fuzz


@pytest.mark.slow  # a dozen runs of the real command line
def test_mutants_exit_0_or_2_and_leave_nothing(tmp_path) -> None:
    # done when the twelve seeded mutants are (the same ones on any machine), not after a fixed 60 s
    results = fuzz.fuzz(count=12, seconds=float("inf"), seed=15, work=tmp_path)
    assert len(results) == 12
    assert [f"{r.seed} ({r.mutation}): {r.problem}" for r in results if r.problem] == []
    assert {r.returncode for r in results} <= {0, 2}


def test_mutations_are_seeded() -> None:
    import random

    data = bytes(range(256)) * 8
    first = [fuzz.mutate(data, random.Random(3)) for _ in range(1)]
    again = [fuzz.mutate(data, random.Random(3)) for _ in range(1)]
    assert first == again and first[0][0] != data
