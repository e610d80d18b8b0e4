"""argparse value types shared by every sub-command, so bad numbers get the same one-line message everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive(kind: type = int) -> Callable[[str], int | float]:
    """A parser of strictly positive numbers of `kind` (int or float)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return parse


positive_int = positive(int)
