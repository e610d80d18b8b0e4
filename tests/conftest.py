"""Shared fixtures: the acceptance clip, made once per session."""

from pathlib import Path

import pytest
from clip_tools import make_sdr_clip


@pytest.fixture(scope="session")
def sdr_clip(tmp_path_factory) -> Path:
    """The issue's acceptance clip: H.264 8-bit BT.709, AAC, 48 frames, 322x182."""
    return make_sdr_clip(tmp_path_factory.mktemp("clips") / "sdr.mp4")
