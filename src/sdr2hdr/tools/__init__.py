"""Maintainer tools, each run as `python -m sdr2hdr.tools.NAME` (`--help` says more).

``ship_weights`` and ``ship_adaptive`` (trained weights into the package, with their cards), ``export_all`` (every
model to ONNX, checked), ``make_sample`` (the bundled demo clip), ``bench_convert`` (conversion speed),
``bench_memory`` (peak memory of a conversion) and ``bench_models`` (every model's speed, GPU or CPU). They sit on
top of the package, beside the CLI: nothing in it imports them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from sdr2hdr.errors import InputError


def exit_status(main: Callable[[], int | None], name: str) -> int:
    """A tool's exit status: main()'s (None is 0), or 2 after `NAME: error: MESSAGE` on one line when the input is
    refused (InputError), as the `sdr2hdr` command does."""
    try:
        return main() or 0
    except InputError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
