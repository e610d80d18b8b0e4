"""Where training batches come from: the one adapter to the data package, synthetic pairs, patches, resumable order.

Defines:
    build_datasets(cfg, scale, frames, patch, root)  -> (train Dataset, validation Dataset or None). THE ONE
                                              PLACE that knows the data package's API; everything else sees items.
    SyntheticPairs                            generated SDR/HDR pairs of the right shapes (smoke runs, tests).
    PatchPairs                                random aligned LQ/HDR/SDR-HQ patches with flips and rotations,
                                              drawn from (seed, epoch, index) so any process or worker agrees.
    CentreCrop                                centre crop of validation items.
    ResumableBatchSampler                     DistributedSampler order, cut into batches, started at any step.
    make_loader(...)                          the training DataLoader over those pieces.

An item is a dict of tensors: "lq" (3,h,w), or (T,3,h,w) for multi-frame models; "hdr" (3,h*s,w*s), PQ
R'G'B'; optionally "sdr_hq" (3,h,w), the clean SDR centre frame (DIDNet's auxiliary target). Other keys
(metadata) are dropped by the collate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset

from sdr2hdr.errors import InputError

from .config import DataConfig

#: keys the trainer uses; the collate keeps these only, so data sets may carry extra metadata
BATCH_KEYS = ("lq", "hdr", "sdr_hq")


def build_datasets(cfg: DataConfig, scale: int, frames: int, patch: int, root: str | None = None,
                   seed: int = 0, progress: bool = True) -> tuple[Dataset, Dataset | None]:
    """Training and validation data sets for a model of this scale and frame count.

    The lead checks this function once the data package's API is final: it is the only code here that
    names sdr2hdr.data. Whatever it returns must yield the items described in this module's docstring;
    training items may be larger than the patch (PatchPairs crops them) and are not augmented here.
    """
    if cfg.source == "synthetic":
        train = SyntheticPairs(cfg.synthetic_items, cfg.synthetic_size, scale, frames, seed=seed)
        val = SyntheticPairs(max(2, cfg.synthetic_items // 8), cfg.synthetic_size, scale, frames, seed=seed + 1)
        return train, val
    root = root or cfg.root
    if root is None:
        raise InputError("no data set given: set data.root in the config or pass --data DIR "
                         "(build one with `sdr2hdr data build`)")
    path = Path(root)
    if not path.is_dir():
        raise InputError(f"data set folder not found: {path}")
    from sdr2hdr.data import datasets as ds  # the data package's torch data sets (BuiltSet refuses a folder
    # without manifest.json by name)

    if cfg.require_intra and any(q is not None for q in (*cfg.qp, *cfg.val_qp)):
        _check_intra(ds.BuiltSet(path, cfg.train_split).manifest, path)

    def make(split: str, qps: list[int], crop: int | None):
        # crop here, where the frames are memory-mapped, rather than decoding whole frames; augmentation
        # stays with PatchPairs, which also seeds the crop so resumed and multi-worker runs draw the same
        common = dict(split=split, qps=qps, scale=scale, patch=crop, progress=progress)
        if frames == 1:
            return _PackageItems(ds.PairDataset(path, **common), frames)
        return _PackageItems(ds.ClipDataset(path, frames=frames, **common), frames)

    train = make(cfg.train_split, cfg.qp, patch)
    val = None
    if cfg.val_split is not None:
        val = make(cfg.val_split, cfg.val_qp, None)
    elif cfg.val_sources:
        # hold out every clip of the last N training sources: validation scenes the model never trains on
        sources = sorted({_source_id(c) for c in train.base.set.clips})
        if cfg.val_sources >= len(sources):
            raise InputError(f"data.val_sources {cfg.val_sources}: the {cfg.train_split!r} split has only "
                             f"{len(sources)} sources")
        held = set(sources[-cfg.val_sources:])
        full = make(cfg.train_split, cfg.val_qp, None)
        train = Subset(train, [i for i in range(len(train)) if _source_of(train.base, i) not in held])
        val = Subset(full, [i for i in range(len(full)) if _source_of(full.base, i) in held])
    return train, val


def _check_intra(manifest: dict, path: Path) -> None:
    """Refuse a set whose LQ frames were coded with GOPs (x265's default P/B-frames) when the recipe wants intra."""
    if not (manifest.get("recipe") or {}).get("intra_only", False):
        raise InputError(f"data set {path} was coded with GOPs and B-frames, but data.require_intra is set (the "
                         "paper coded every frame intra): build an intra-only set with `sdr2hdr data build "
                         "--sources SRC --out DIR --intra`, or train on this one with --set data.require_intra=false")


def _source_id(clip: dict) -> str:
    src = clip.get("source")
    return src.get("id", "") if isinstance(src, dict) else str(src)


def _source_of(base, i: int) -> str:
    clip_index, _ = base.index[i % len(base.index)]
    return _source_id(base.set.clips[clip_index])


class _PackageItems(Dataset):
    """The data package's items in the trainer's terms: "sdr" -> "lq"; the clean SDR of the centre frame."""

    def __init__(self, base: Dataset, frames: int) -> None:
        self.base, self.frames = base, frames

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.base[index]
        hq = item["sdr_hq"]
        if self.frames > 1 and hq.dim() == 4:
            hq = hq[self.frames // 2]
        return {"lq": item["sdr"], "hdr": item["hdr"], "sdr_hq": hq}


class SyntheticPairs(Dataset):
    """SDR/HDR pairs generated from smooth random scenes through a fixed, learnable SDR -> PQ mapping.

    The scene is a sum of random low-frequency waves (so a small CNN can learn the mapping in a few steps);
    HDR PQ = 0.15 + 0.6 * sdr_hq ** 1.6 with a little cross-channel mixing; LQ adds mild noise (a stand-in for
    coding artefacts), is downscaled by the scale, and for multi-frame models is a window of frames shifted by
    one pixel each, the centre frame aligned with the target. Deterministic in (seed, index).
    """

    def __init__(self, items: int, size: int, scale: int, frames: int, seed: int = 0) -> None:
        self.items, self.size, self.scale, self.frames, self.seed = items, size, scale, frames, seed

    def __len__(self) -> int:
        return self.items

    def _scene(self, rng: np.random.Generator, shift: int) -> np.ndarray:
        n = self.size
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
        xx = xx + shift / n
        img = np.zeros((3, n, n), np.float32)
        for c in range(3):
            for _ in range(3):
                fx, fy, ph = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
                img[c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph).astype(np.float32)
        return np.clip(0.5 + img / 6.0, 0.0, 1.0)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.items:
            raise IndexError(index)
        half = self.frames // 2
        seq = []
        for t in range(self.frames):
            rng = np.random.default_rng((self.seed, index))  # same scene for every frame, shifted
            seq.append(self._scene(rng, t - half))
        sdr = torch.from_numpy(np.stack(seq))  # (T,3,n,n)
        centre = sdr[half]
        mix = torch.tensor([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
        hdr = 0.15 + 0.6 * torch.einsum("oc,chw->ohw", mix, centre).clamp(0, 1) ** 1.6
        noise = torch.from_numpy(np.random.default_rng((self.seed, index, 1)).normal(0, 0.02, sdr.shape)
                                 .astype(np.float32))
        lq = (sdr + noise).clamp(0, 1)
        if self.scale > 1:
            lq = torch.nn.functional.interpolate(lq, scale_factor=1 / self.scale, mode="bicubic",
                                                 antialias=True, align_corners=False).clamp(0, 1)
            centre = torch.nn.functional.interpolate(centre[None], scale_factor=1 / self.scale, mode="bicubic",
                                                     antialias=True, align_corners=False)[0].clamp(0, 1)
        return {"lq": lq if self.frames > 1 else lq[0], "hdr": hdr.contiguous(), "sdr_hq": centre.contiguous()}


def _geometry(item: dict, scale: int) -> tuple[int, int]:
    lq = item["lq"]
    h, w = lq.shape[-2:]
    hh, hw = item["hdr"].shape[-2:]
    if (hh, hw) != (h * scale, w * scale):
        raise ValueError(f"item shapes disagree with scale x{scale}: lq {tuple(lq.shape)}, "
                         f"hdr {tuple(item['hdr'].shape)}")
    return h, w


def _crop(item: dict, top: int, left: int, lh: int, lw: int, scale: int) -> dict:
    out = {}
    for key, value in item.items():
        if not isinstance(value, torch.Tensor) or value.dim() < 3:
            continue
        s = scale if key == "hdr" else 1
        out[key] = value[..., top * s:(top + lh) * s, left * s:(left + lw) * s]
    return out


def _transform(item: dict, hflip: bool, vflip: bool, rot90: bool) -> dict:
    out = {}
    for key, value in item.items():
        if hflip:
            value = value.flip(-1)
        if vflip:
            value = value.flip(-2)
        if rot90:
            value = value.transpose(-1, -2)
        out[key] = value.contiguous()
    return out


class PatchPairs(Dataset):
    """Random aligned patches of a data set's items, indexed by (epoch, index).

    Crop position and flips come from numpy's generator seeded with (seed, epoch, index): a resumed run, another
    worker count or another process sees exactly the same patch for the same sample.
    """

    def __init__(self, base: Dataset, patch: int, scale: int, augment: bool, seed: int) -> None:
        self.base, self.patch, self.scale, self.augment, self.seed = base, patch, scale, augment, seed

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        seq = np.random.SeedSequence((self.seed, epoch, index))
        # a data set drawing its own crops or QPs from torch's generator draws them from this seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1)))
            item = self.base[index]
        h, w = _geometry(item, self.scale)
        lp = self.patch // self.scale
        if h < lp or w < lp:
            raise ValueError(f"item {index} is {h}x{w} at the input, smaller than the {lp}x{lp} input patch")
        rng = np.random.default_rng(seq)
        top, left = int(rng.integers(0, h - lp + 1)), int(rng.integers(0, w - lp + 1))
        item = _crop(item, top, left, lp, lp, self.scale)
        if self.augment:
            hflip, vflip, rot = (bool(b) for b in rng.integers(0, 2, size=3))
            item = _transform(item, hflip, vflip, rot)
        return item


class CentreCrop(Dataset):
    """Centre crop of each item to `size` on the HDR side (or the whole item when size is None); n items spread
    evenly over the set."""

    def __init__(self, base: Dataset, size: int | None, scale: int, items: int | None = None) -> None:
        self.base, self.size, self.scale = base, size, scale
        n = len(base) if items is None else min(items, len(base))
        # evenly spread over the set, so a few items still cover several clips
        self.indices = np.linspace(0, len(base) - 1, n).round().astype(int).tolist() if n else []

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.base[self.indices[index]]
        h, w = _geometry(item, self.scale)
        if self.size is None:
            return _crop(item, 0, 0, h, w, self.scale)
        lp = self.size // self.scale
        lh, lw = min(lp, h), min(lp, w)
        return _crop(item, (h - lh) // 2, (w - lw) // 2, lh, lw, self.scale)


class ResumableBatchSampler(Sampler):
    """Batches of (epoch, index) keys in DistributedSampler's order for this rank, from any global step on.

    DistributedSampler gives each rank a disjoint, seed-and-epoch-determined share of a shuffle; this cuts
    it into batches of `batch` and skips the batches a resumed run has already trained on, so step k of a
    resumed run sees the same samples as step k of an uninterrupted one.
    """

    def __init__(self, dataset: Dataset, batch: int, seed: int, rank: int = 0, world: int = 1,
                 start_step: int = 0) -> None:
        self.sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed,
                                          drop_last=True)
        self.batch = batch
        self.per_epoch = len(self.sampler) // batch
        if self.per_epoch == 0:
            raise InputError(f"the training set has {len(dataset)} items: too few for one batch of {batch} on "
                             f"each of {world} process(es)")
        self.start_step = start_step

    # no __len__: the stream is endless and the trainer counts steps

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, skip = divmod(self.start_step, self.per_epoch)
        while True:
            self.sampler.set_epoch(epoch)
            order = list(self.sampler)
            for b in range(skip, self.per_epoch):
                yield [(epoch, i) for i in order[b * self.batch:(b + 1) * self.batch]]
            skip = 0
            epoch += 1

    def epoch_of(self, step: int) -> int:
        """The epoch the batch of a global step belongs to."""
        return step // self.per_epoch


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack the trainer's keys; every item of a batch must have the same keys and shapes."""
    keys = [k for k in BATCH_KEYS if k in items[0]]
    return {k: torch.stack([it[k] for it in items]) for k in keys}


def make_loader(dataset: Dataset, batch_sampler: ResumableBatchSampler, num_workers: int,
                pin_memory: bool = False) -> DataLoader:
    """The training loader. It gets its own generator so that making an iterator leaves the global RNG alone."""
    return DataLoader(dataset, batch_sampler=batch_sampler, num_workers=num_workers, collate_fn=collate,
                      generator=torch.Generator().manual_seed(0), persistent_workers=num_workers > 0,
                      pin_memory=pin_memory)


def make_val_loader(dataset: Dataset) -> DataLoader:
    """One item per batch: validation frames may differ in size. Its own generator: each pass makes an iterator,
    which would otherwise draw a seed from the global RNG and shift the training run's dropout masks."""
    return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0, collate_fn=collate,
                      generator=torch.Generator().manual_seed(0))
