"""argparse value types shared by every sub-command, so bad numbers get the same one-line message everywhere."""

from __future__ import annotations

import argparse
import math
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


def in_range(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """A parser of finite numbers in [low, high] (NaN, infinities and out-of-range values are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a number in {low:g}..{high:g}{unit}, got {text!r}")
        return value

    return parse


positive_int = positive(int)
