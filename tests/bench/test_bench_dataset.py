"""The test split as the benchmark reads it: clips, degradation models, frames per QP and scale; bad folders refused."""

from __future__ import annotations

import numpy as np
import pytest
from bench_fixture import HEIGHT, QPS, WIDTH, make_dataset

from sdr2hdr.data.split import load_split
from sdr2hdr.errors import InputError


def test_load_split_lists_test_clips_with_their_degradation_qps_and_scales(tiny_set):
    clips = load_split(tiny_set, "test")
    assert [c.degradation for c in clips] == ["bt2446c", "hable"]
    assert all(c.qps == list(QPS) and c.scales(QPS[0]) == [1, 2] for c in clips)
    hdr, lq, lq2 = clips[0].hdr(), clips[0].lq(QPS[0]), clips[0].lq(QPS[0], 2)
    assert len(hdr) == len(lq) == len(lq2) == clips[0].frame_count() == 4
    assert hdr[0].shape == lq[0].shape == (HEIGHT, WIDTH, 3) and lq2[0].shape == (HEIGHT // 2, WIDTH // 2, 3)
    assert hdr[0].dtype == np.float32 and 0.0 < hdr[0].max() <= 1.0


def test_a_folder_without_a_manifest_is_refused_saying_so(tmp_path):
    with pytest.raises(InputError, match="has no manifest"):
        load_split(tmp_path)
    with pytest.raises(InputError, match="no such data directory"):
        load_split(tmp_path / "missing")


def test_an_unknown_split_is_refused_with_the_splits_there(tiny_set):
    with pytest.raises(InputError, match="validation"):
        load_split(tiny_set, "validation")


def test_missing_frames_are_named(tmp_path):
    root = make_dataset(tmp_path / "set")
    clip = load_split(root)[0]
    (clip.root / clip.hdr_files[1]).unlink()
    with pytest.raises(InputError, match="missing: .*001.png"):
        clip.hdr()
    with pytest.raises(InputError, match="no LQ frames at QP 47"):
        clip.lq(47)
