"""What a conversion tells its caller: the report it returns and the progress bar it shows on the way."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ConvertReport:
    """What a conversion did, for the CLI and the benchmark."""

    output: Path
    frames: int = 0
    width: int = 0
    height: int = 0
    max_cll: int | None = None
    max_fall: int | None = None
    seconds: dict = field(default_factory=lambda: {"decode": 0.0, "convert": 0.0, "encode": 0.0, "total": 0.0})
    notes: list = field(default_factory=list)
    mapping: str = ""  # the mapper's description, e.g. "bt2446c (classical, peak 1000 cd/m2)"
    delivery: str = "HEVC Main10 HDR10"  # what the video was written as (codec and transfer)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds["total"] if self.seconds["total"] > 0 else 0.0


class Progress:
    """A progress line with frames done, frames/s and time left (tqdm on stderr); ``done`` frames count from the
    start (the pieces a resumed run finished before)."""

    def __init__(self, total: int | None, enabled: bool, desc: str = "converting", done: int = 0) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="frame", desc=desc, file=sys.stderr, dynamic_ncols=True,
                            mininterval=0.5, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                            "[{elapsed}<{remaining}, {rate_fmt}]")

    def update(self, frames: int = 1) -> None:
        """Count frames done."""
        if self.bar is not None:
            self.bar.update(frames)

    def close(self) -> None:
        """End the line."""
        if self.bar is not None:
            self.bar.close()
