"""Torch datasets over a built set: single-frame pairs and clip windows, decoded PNGs cached as memory-mapped arrays.

Classes
- BuiltSet(root): the set's manifest and its clips, by split
- ArrayCache(root, cache_dir): one .npy per clip and stream (uint16 HDR, uint8 SDR), made once from the PNGs and
  then memory-mapped, so DataLoader workers slice arrays instead of decoding images
- PairDataset: one frame -> {"sdr", "sdr_hq", "hdr", ...}; SDR (3, h, w), HDR (3, h*scale, w*scale)
- ClipDataset: a window of T frames around a centre -> SDR (T, 3, h, w), HDR of the centre (3, H, W) or all frames

Tensors follow the model contract (docs/conventions.md): SDR is BT.709 BT.1886 R'G'B' in [0, 1], HDR is BT.2020
PQ R'G'B' in [0, 1], float32, channels first. Random crops are aligned across scales (an LR pixel covers scale x
scale HR pixels, the grid imresize produces). Flips and rotations are training's business (train.data.PatchPairs),
not the data set's. Randomness comes from torch's generator, which a DataLoader seeds per worker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_atomic

__all__ = ["BuiltSet", "ArrayCache", "PairDataset", "ClipDataset", "UNCOMPRESSED"]

UNCOMPRESSED = -1  # the "qp" an item reports when its input is the HQ SDR (qps contains None)


class BuiltSet:
    """A built set on disk: manifest.json and the clip manifests of one split."""

    def __init__(self, root: str | os.PathLike, split: str | None = None) -> None:
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not path.is_file():
            raise InputError(f"{self.root} is not a built set (no manifest.json; is the build complete?)")
        self.manifest = json.loads(path.read_text())
        splits = self.manifest["splits"]
        if split is not None and split not in splits:
            raise InputError(f"no split {split!r} in {self.root} (has {', '.join(splits)})")
        ids = splits[split] if split is not None else [c for s in splits.values() for c in s]
        self.clips = [self.clip(i) for i in ids]

    def clip(self, clip_id: str) -> dict:
        """A clip's manifest (clip.json) plus its id and split."""
        entry = self.manifest["clips"][clip_id]
        m = json.loads((self.root / entry["manifest"]).read_text())
        m["split"], m["dir"] = entry["split"], str(Path(entry["manifest"]).parent)
        m["manifest_sha256"] = entry["sha256"]
        return m


def stream_files(clip: dict, stream: str) -> list[str]:
    """Relative PNG paths of a stream: "hdr", "sdr/x2", "lq/qp37/x1"."""
    files = clip["files"]
    parts = stream.split("/")
    try:
        if parts[0] == "hdr":
            return files["hdr"]
        if parts[0] == "sdr":
            return files["sdr"][parts[1]]
        if parts[0] == "lq":
            return files["lq"][parts[1]][parts[2]]
    except (KeyError, IndexError):
        pass
    raise InputError(f"clip {clip['id']} has no stream {stream!r} (built with qps {clip['compression']['qps']}, "
                     f"scales {clip['sdr']['scales']})")


class ArrayCache:
    """Decoded frames as (T, H, W, 3) .npy files, one per clip and stream, memory-mapped on use.

    The cache key includes the clip manifest's checksum, so a rebuilt clip never reads stale arrays. Files are
    written under a temporary name and renamed, so concurrent users never see a half-written array.
    """

    def __init__(self, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> None:
        self.root = Path(root)
        self.dir = Path(cache_dir) if cache_dir is not None else self.root / "cache"
        self._open: dict[str, np.ndarray] = {}

    def path(self, clip: dict, stream: str) -> Path:
        return self.dir / clip["id"] / f"{stream.replace('/', '_')}-{clip['manifest_sha256'][:12]}.npy"

    def ensure(self, clip: dict, stream: str) -> Path:
        """Make the array file from the PNGs if it is not there yet; return its path."""
        path = self.path(clip, stream)
        if path.is_file():
            return path
        import cv2

        frames = []
        for rel in stream_files(clip, stream):
            px = cv2.imread(str(self.root / clip["dir"] / rel), cv2.IMREAD_UNCHANGED)
            if px is None:
                raise InputError(f"cannot read {self.root / clip['dir'] / rel}")
            frames.append(px[..., ::-1])
        arr = np.ascontiguousarray(np.stack(frames))
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, lambda tmp: np.save(tmp, arr))  # tmp ends in .npy too, so np.save adds none

    def get(self, clip: dict, stream: str) -> np.ndarray:
        """The stream as a read-only memory map (T, H, W, 3), uint16 for HDR, uint8 for SDR."""
        key = f"{clip['id']}/{stream}"
        arr = self._open.get(key)
        if arr is None:
            arr = np.load(self.ensure(clip, stream), mmap_mode="r")
            self._open[key] = arr
        return arr

    def __getstate__(self):
        # memory maps are reopened in each DataLoader worker rather than pickled
        return {"root": self.root, "dir": self.dir, "_open": {}}


def _to_tensor(a: np.ndarray) -> torch.Tensor:
    """(..., H, W, 3) uint8 / uint16 -> float32 (..., 3, H, W) in [0, 1]."""
    scale = np.float32(1 / 65535.0 if a.dtype == np.uint16 else 1 / 255.0)
    # astype copies out of the read-only memory map into memory the tensor may own
    t = torch.from_numpy(a.astype(np.float32)).mul_(float(scale))
    return t.movedim(-1, -3).contiguous()


class _Base(Dataset):
    def __init__(self, root, split, qps, scale, patch, repeat, cache_dir, progress):
        self.set = BuiltSet(root, split)
        if not self.set.clips:
            raise InputError(f"split {split!r} of {root} has no clips")
        self.qps = list(qps) if qps is not None else [None]
        if not self.qps:
            raise InputError("qps must name at least one QP (or None for the HQ SDR)")
        self.scale = int(scale)
        if patch is not None and patch % self.scale:
            raise InputError(f"patch {patch} must be a multiple of scale {self.scale}")
        self.patch = patch
        self.repeat = max(1, int(repeat))
        self.cache = ArrayCache(root, cache_dir)
        self.frames = int(self.set.clips[0]["frames"])
        self._prepare(progress)

    def _streams(self) -> list[str]:
        s = f"x{self.scale}"
        names = ["hdr", f"sdr/{s}"] + [f"lq/qp{q}/{s}" for q in self.qps if q is not None]
        return names

    def _prepare(self, progress: bool) -> None:
        """Decode every PNG this dataset needs into the cache once, in the main process, before workers fork."""
        todo = [(c, s) for c in self.set.clips for s in self._streams() if not self.cache.path(c, s).is_file()]
        if not todo:
            return
        from tqdm import tqdm

        for clip, stream in tqdm(todo, desc="caching decoded frames", unit="stream", disable=not progress):
            self.cache.ensure(clip, stream)

    def _pick_qp(self) -> int | None:
        if len(self.qps) == 1:
            return self.qps[0]
        return self.qps[int(torch.randint(len(self.qps), (1,)))]

    def _crop_boxes(self, lr_hw: tuple[int, int]) -> tuple[slice, slice, slice, slice]:
        h, w = lr_hw
        s = self.scale
        if self.patch is None:
            return slice(0, h), slice(0, w), slice(0, h * s), slice(0, w * s)
        p = self.patch // s
        if p > h or p > w:
            raise InputError(f"patch {self.patch} is larger than the x{s} frames ({w * s}x{h * s})")
        y = int(torch.randint(h - p + 1, (1,)))
        x = int(torch.randint(w - p + 1, (1,)))
        return slice(y, y + p), slice(x, x + p), slice(y * s, (y + p) * s), slice(x * s, (x + p) * s)

    def _load(self, clip: dict, frames, qp):
        """(lq, hq, hdr) arrays for frame indices `frames`, cropped alike."""
        s = f"x{self.scale}"
        hq_all = self.cache.get(clip, f"sdr/{s}")
        lq_all = hq_all if qp is None else self.cache.get(clip, f"lq/qp{qp}/{s}")
        hdr_all = self.cache.get(clip, "hdr")
        ly, lx, hy, hx = self._crop_boxes(hq_all.shape[1:3])
        lq = lq_all[frames, ly, lx]
        hq = hq_all[frames, ly, lx]
        hdr = hdr_all[frames, hy, hx]
        return lq, hq, hdr


class PairDataset(_Base):
    """Single-frame pairs: every frame of every clip of a split (times `repeat`).

    Args: root (a built set), split ("train" / "test"), qps (QPs to draw the input from, one per item; None in
    the list means the uncompressed HQ SDR), scale (1, 2 or 4: the SDR's downscale factor), patch (HR crop size,
    None for whole frames), repeat (epoch multiplier),
    cache_dir (default ROOT/cache), progress (bar while caching).

    An item is a dict: "sdr" (3, h, w) the LQ input, "sdr_hq" (3, h, w) the clean SDR at the same scale,
    "hdr" (3, h*scale, w*scale) the PQ target, "qp" (int, -1 = uncompressed), "scale", "clip", "frame".
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", qps: Sequence[int | None] | None = (37,),
                 scale: int = 1,
                 patch: int | None = None, repeat: int = 1, cache_dir: str | os.PathLike | None = None,
                 progress: bool = True) -> None:
        super().__init__(root, split, qps, scale, patch, repeat, cache_dir, progress)
        self.index = [(c, t) for c in range(len(self.set.clips)) for t in range(self.set.clips[c]["frames"])]

    def __len__(self) -> int:
        return len(self.index) * self.repeat

    def __getitem__(self, i: int) -> dict:
        c, t = self.index[i % len(self.index)]
        clip = self.set.clips[c]
        qp = self._pick_qp()
        lq, hq, hdr = self._load(clip, t, qp)
        return {"sdr": _to_tensor(lq), "sdr_hq": _to_tensor(hq), "hdr": _to_tensor(hdr),
                "qp": UNCOMPRESSED if qp is None else int(qp), "scale": self.scale, "clip": clip["id"], "frame": t}


class ClipDataset(_Base):
    """Windows of `frames` consecutive frames around a centre frame, for multi-frame models (DIDNet).

    Args as PairDataset, plus frames (window length T, odd), edge ("valid": centres whose window fits inside
    the clip; "replicate": every frame is a centre, the window repeats the first / last frame at the ends, for
    evaluating whole sequences) and target ("centre": HDR of the centre frame (3, H, W); "all": (T, 3, H, W)).

    An item: "sdr" (T, 3, h, w), "sdr_hq" (T, 3, h, w), "hdr" (3, H, W) or (T, 3, H, W), "qp", "scale", "clip",
    "frame" (the centre index).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", frames: int = 5,
                 qps: Sequence[int | None] | None = (37,),
                 scale: int = 1, patch: int | None = None, edge: str = "valid",
                 target: str = "centre", repeat: int = 1, cache_dir: str | os.PathLike | None = None,
                 progress: bool = True) -> None:
        super().__init__(root, split, qps, scale, patch, repeat, cache_dir, progress)
        if frames < 1 or frames % 2 == 0:
            raise InputError(f"frames must be odd and >= 1, got {frames}")
        if edge not in ("valid", "replicate"):
            raise InputError("edge must be 'valid' or 'replicate'")
        if target not in ("centre", "all"):
            raise InputError("target must be 'centre' or 'all'")
        self.window, self.edge, self.target = frames, edge, target
        r = frames // 2
        self.index = []
        for c, clip in enumerate(self.set.clips):
            n = clip["frames"]
            centres = range(r, n - r) if edge == "valid" else range(n)
            self.index += [(c, t) for t in centres]
        if not self.index:
            raise InputError(f"no {frames}-frame window fits in {self.frames}-frame clips (use edge='replicate')")

    def __len__(self) -> int:
        return len(self.index) * self.repeat

    def __getitem__(self, i: int) -> dict:
        c, t = self.index[i % len(self.index)]
        clip = self.set.clips[c]
        r = self.window // 2
        idx = np.clip(np.arange(t - r, t + r + 1), 0, clip["frames"] - 1)
        qp = self._pick_qp()
        lq, hq, hdr = self._load(clip, idx, qp)
        if self.target == "centre":
            hdr = hdr[r]
        return {"sdr": _to_tensor(lq), "sdr_hq": _to_tensor(hq), "hdr": _to_tensor(hdr),
                "qp": UNCOMPRESSED if qp is None else int(qp), "scale": self.scale, "clip": clip["id"], "frame": t}
