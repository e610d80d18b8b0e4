"""Torch datasets: shapes and ranges of the model contract, crops aligned across scales, caching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sdr2hdr.data import ClipDataset, PairDataset
from sdr2hdr.data.datasets import UNCOMPRESSED


def _frames(ds, clip_index, stream):
    return np.asarray(ds.cache.get(ds.set.clips[clip_index], stream))


def _find(full: np.ndarray, patch: np.ndarray) -> list[tuple[int, int]]:
    """Every (y, x) where patch sits inside full exactly."""
    p = patch.shape[0]
    return [(y, x) for y in range(full.shape[0] - p + 1) for x in range(full.shape[1] - p + 1)
            if np.array_equal(full[y:y + p, x:x + p], patch)]


def _transforms(a):
    """The 8 flips / transposes of an HWC array."""
    out = []
    for t in (a, np.swapaxes(a, 0, 1)):
        for f in (t, t[::-1], t[:, ::-1], t[::-1, ::-1]):
            out.append(f)
    return out


def test_pair_items_follow_the_model_contract(tiny_set, tmp_path):
    ds = PairDataset(tiny_set, "train", qps=(27, 42), scale=2, patch=32, cache_dir=tmp_path, progress=False)
    assert len(ds) == sum(c["frames"] for c in ds.set.clips)
    item = ds[0]
    assert item["sdr"].shape == (3, 16, 16) and item["sdr_hq"].shape == (3, 16, 16)
    assert item["hdr"].shape == (3, 32, 32)
    for k in ("sdr", "sdr_hq", "hdr"):
        assert item[k].dtype == torch.float32 and 0 <= item[k].min() and item[k].max() <= 1
    assert item["qp"] in (27, 42) and item["scale"] == 2


def test_crops_are_aligned_across_scales(tiny_set, tmp_path):
    torch.manual_seed(0)
    manifest = json.loads((tiny_set / "manifest.json").read_text())
    split = [c["split"] for c in manifest["clips"].values() if c["source"] == "photo.exr"][0]
    for _ in range(2):
        ds = PairDataset(tiny_set, split, qps=(42,), scale=2, patch=32, cache_dir=tmp_path, progress=False)
        photo = [i for i, (c, _) in enumerate(ds.index) if ds.set.clips[c]["source"]["id"] == "photo.exr"]
        assert photo
        for i in photo:
            item = ds[i]
            c, t = ds.index[i]
            lr = (item["sdr_hq"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            hr = (item["hdr"].permute(1, 2, 0).numpy() * 65535).round().astype(np.uint16)
            lq = (item["sdr"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            full_lr, full_hr = _frames(ds, c, "sdr/x2")[t], _frames(ds, c, "hdr")[t]
            full_lq = _frames(ds, c, "lq/qp42/x2")[t]
            matches = set()  # which of the 8 transforms explains all three tensors at one crop position
            for k, (tl, th, tq) in enumerate(zip(_transforms(full_lr), _transforms(full_hr), _transforms(full_lq))):
                for y, x in _find(tl, lr):
                    if np.array_equal(th[2 * y:2 * y + 32, 2 * x:2 * x + 32], hr) and \
                            np.array_equal(tq[y:y + 16, x:x + 16], lq):
                        matches.add(k)
            assert 0 in matches, (i, matches)


def test_uncompressed_input_and_whole_frames(tiny_set, tmp_path):
    ds = PairDataset(tiny_set, "test", qps=(None,), scale=4, cache_dir=tmp_path, progress=False)
    item = ds[1]
    assert item["qp"] == UNCOMPRESSED and torch.equal(item["sdr"], item["sdr_hq"])
    assert item["sdr"].shape == (3, 16, 16) and item["hdr"].shape == (3, 64, 64)


def test_clip_windows_and_edges(tiny_set, tmp_path):
    ds = ClipDataset(tiny_set, "train", frames=3, qps=(27,), scale=1, patch=32, cache_dir=tmp_path, progress=False)
    n_clips, T = len(ds.set.clips), ds.set.clips[0]["frames"]
    assert len(ds) == n_clips * (T - 2)
    item = ds[0]
    assert item["sdr"].shape == (3, 3, 32, 32) and item["sdr_hq"].shape == (3, 3, 32, 32)
    assert item["hdr"].shape == (3, 32, 32) and item["frame"] == 1
    rep = ClipDataset(tiny_set, "train", frames=3, qps=(27,), edge="replicate", target="all",
                      cache_dir=tmp_path, progress=False)
    assert len(rep) == n_clips * T
    first = rep[0]
    assert first["hdr"].shape == (3, 3, 64, 64) and torch.equal(first["sdr"][0], first["sdr"][1])


def test_dataloader_workers_read_the_memory_mapped_cache(tiny_set):
    ds = PairDataset(tiny_set, "train", qps=(27, 42), scale=1, patch=32, progress=False)
    assert any((tiny_set / "cache").rglob("*.npy"))
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, shuffle=True)
    batch = next(iter(loader))
    assert batch["sdr"].shape == (4, 3, 32, 32) and batch["hdr"].shape == (4, 3, 32, 32)


def test_bad_arguments_are_reported(tiny_set, tmp_path):
    from sdr2hdr.errors import InputError

    with pytest.raises(InputError, match="multiple of scale"):
        PairDataset(tiny_set, qps=(27,), scale=4, patch=30, cache_dir=tmp_path, progress=False)
    with pytest.raises(InputError, match="no stream"):
        PairDataset(tiny_set, qps=(37,), cache_dir=tmp_path, progress=False)
    with pytest.raises(InputError, match="odd"):
        ClipDataset(tiny_set, frames=4, qps=(27,), cache_dir=tmp_path, progress=False)
