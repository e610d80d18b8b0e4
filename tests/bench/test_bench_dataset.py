"""The test split as the benchmark reads it: clips, degradation models, frames per QP and scale; bad folders refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sdr2hdr.bench.dataset import load_split
from sdr2hdr.errors import InputError

from bench_fixture import HEIGHT, QPS, WIDTH


def test_load_split_lists_test_clips_with_their_degradation_qps_and_scales(tiny_set):
    clips = load_split(tiny_set, "test")
    assert [c.degradation for c in clips] == ["bt2446c", "hable"]
    assert all(c.qps == list(QPS) and c.scales(QPS[0]) == [1, 2] for c in clips)
    hdr, lq, lq2 = clips[0].hdr(), clips[0].lq(QPS[0]), clips[0].lq(QPS[0], 2)
    assert len(hdr) == len(lq) == len(lq2) == clips[0].n_frames
    assert hdr[0].shape == lq[0].shape == (HEIGHT, WIDTH, 3) and lq2[0].shape == (HEIGHT // 2, WIDTH // 2, 3)
    assert hdr[0].dtype == np.float32 and 0.0 < hdr[0].max() <= 1.0


def test_a_folder_without_a_manifest_is_refused_saying_so(tmp_path):
    with pytest.raises(InputError, match="has no manifest"):
        load_split(tmp_path)
    with pytest.raises(InputError, match="no such data directory"):
        load_split(tmp_path / "missing")


def test_an_empty_split_is_refused_with_the_splits_there(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"clips": [{"id": "a", "split": "train", "hdr": "x"}]}))
    with pytest.raises(InputError, match=r"no clips in split 'test' \(splits there: train\)"):
        load_split(tmp_path)


def test_missing_frames_are_named(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"clips": [
        {"id": "a", "split": "test", "tmo": "hable", "hdr": "a/hdr", "lq": {"37": "a/lq"}}]}))
    clip = load_split(tmp_path)[0]
    with pytest.raises(InputError, match="missing"):
        clip.hdr()
    with pytest.raises(InputError, match="no LQ frames at QP 27"):
        clip.lq(27)
