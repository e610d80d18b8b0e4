"""The test split of a built data set as the benchmark sees it: clips, their degradation model, frames per QP and scale.

The benchmark's one view of the data set: it reads the set through sdr2hdr.data.datasets.BuiltSet
(manifest.json -> clips/<id>/clip.json) and hands out TestClip objects; everything in bench/ works on those.

Functions and classes
- TestClip: one clip of the split (id, source, degradation model, frames, where each frame sequence lives)
- load_split(data_dir, split) -> list[TestClip]; InputError for a folder without a manifest or an empty split
- find_manifest(data_dir) -> the set's manifest path, or InputError saying what is wrong with the folder
- TestClip.hdr() / .sdr() / .lq(qp, scale) -> lists of float32 HWC frames in [0, 1]; lq(None, scale) is the uncoded
  input (sdr/xS: the HQ SDR, for scale > 1 the builder's MATLAB-style bicubic down-scale), the SR-ITM papers' input

Per clip, the set holds (paths relative to clips/<id>/, as listed in clip.json "files"): hdr/NNN.png (16-bit PQ
R'G'B' BT.2020), sdr/xS/NNN.png (HQ SDR, 8-bit BT.709 BT.1886), lq/qpQ/xS/NNN.png (HQ SDR at scale S through libx265
at QP Q, decoded). The degradation model is clip.json "tmo" "name".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError

MANIFEST = "manifest.json"


@dataclass
class TestClip:
    """One test clip: where its HQ HDR, HQ SDR and LQ SDR frame sequences live, and how it was degraded."""

    id: str
    source: str
    degradation: str
    root: Path  # the clip's folder; every frame path is relative to it
    hdr_files: list
    sdr_files: list | None = None
    lq_files: dict = field(default_factory=dict)  # (qp, scale) -> list of frame paths
    sdr_scaled: dict = field(default_factory=dict)  # scale -> uncoded SDR frame paths (sdr/xS)
    record: dict = field(default_factory=dict, repr=False)

    @property
    def qps(self) -> list[int]:
        """The x265 QPs of the coded input (the uncoded input, qp None, is not listed)."""
        return sorted({qp for qp, _ in self.lq_files})

    def has_input(self, qp: int | None) -> bool:
        """Whether the clip has input frames at this QP (None: uncoded) at any scale."""
        return bool(self.sdr_scaled) if qp is None else qp in self.qps

    def scales(self, qp: int | None) -> list[int]:
        if qp is None:
            return sorted(self.sdr_scaled)
        return sorted(s for q, s in self.lq_files if q == qp)

    def frame_count(self) -> int:
        return len(self.hdr_files)

    def hdr(self) -> list[np.ndarray]:
        """HQ HDR target frames, PQ R'G'B' BT.2020 in [0, 1]."""
        return read_frames(self.root, self.hdr_files)

    def sdr(self) -> list[np.ndarray] | None:
        """HQ SDR frames (before compression), R'G'B' BT.709 in [0, 1], or None when the set has none."""
        return None if self.sdr_files is None else read_frames(self.root, self.sdr_files)

    def lq(self, qp: int | None, scale: int = 1) -> list[np.ndarray]:
        """Compressed (and for scale > 1 downscaled) SDR frames decoded back, R'G'B' BT.709 in [0, 1].

        qp None: the uncoded input at that scale (sdr/xS), what Deep SR-ITM and GPGMNet were tested on.
        """
        if qp is None:
            if scale not in self.sdr_scaled:
                raise InputError(f"clip {self.id} has no uncoded SDR frames at scale x{scale} (sdr/x{scale})")
            return read_frames(self.root, self.sdr_scaled[scale])
        if (qp, scale) not in self.lq_files:
            raise InputError(f"clip {self.id} has no LQ frames at QP {qp}, scale x{scale}")
        return read_frames(self.root, self.lq_files[(qp, scale)])


def find_manifest(data_dir: str | Path) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(f"no such data directory: {data_dir}")
    if not data_dir.is_dir():
        raise InputError(f"not a directory: {data_dir} (pass the folder `sdr2hdr data build` wrote)")
    if not (data_dir / MANIFEST).is_file():
        raise InputError(f"{data_dir} has no manifest ({MANIFEST}): it is not a data set built by "
                         f"`sdr2hdr data build`, or its build has not finished")
    return data_dir / MANIFEST


def _number(key: str) -> int:
    """'qp37' -> 37, 'x2' -> 2."""
    m = re.fullmatch(r"[a-z]*(\d+)", str(key))
    if m is None:
        raise InputError(f"unexpected stream name {key!r} in a clip manifest")
    return int(m.group(1))


def _clip(m: dict, root: Path) -> TestClip:
    files = m.get("files") or {}
    if not files.get("hdr"):
        raise InputError(f"clip {m.get('id')}: its manifest lists no HDR frames")
    lq = {(_number(qp), _number(s)): paths for qp, by_scale in (files.get("lq") or {}).items()
          for s, paths in by_scale.items()}
    source = m.get("source")
    tmo = m.get("tmo")
    return TestClip(
        id=str(m["id"]),
        source=str(source.get("id", "")) if isinstance(source, dict) else str(source or ""),
        degradation=str(tmo.get("name", "unknown")) if isinstance(tmo, dict) else str(tmo or "unknown"),
        root=root / m["dir"],
        hdr_files=list(files["hdr"]),
        sdr_files=(files.get("sdr") or {}).get("x1"),
        lq_files=lq,
        sdr_scaled={_number(s): list(paths) for s, paths in (files.get("sdr") or {}).items() if paths},
        record=m,
    )


def load_split(data_dir: str | Path, split: str = "test") -> list[TestClip]:
    """The clips of one split, in manifest order; refuses a folder without a manifest or an empty split."""
    from sdr2hdr.data.datasets import BuiltSet

    find_manifest(data_dir)
    try:
        built = BuiltSet(data_dir, split)
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"cannot read the manifest of {data_dir}: {type(exc).__name__}: {exc}") from None
    clips = [_clip(m, Path(data_dir)) for m in built.clips]
    if not clips:
        raise InputError(f"{data_dir}: split {split!r} has no clips")
    return clips


def read_frames(root: Path, files: list) -> list[np.ndarray]:
    """Every frame of one sequence as float32 HWC in [0, 1] (8-bit codes / 255, 16-bit codes / 65535)."""
    from sdr2hdr.io.images import read_png

    out = []
    for rel in files:
        path = root / rel
        if not path.is_file():
            raise InputError(f"a frame listed in the manifest is missing: {path}")
        out.append(read_png(path)[0])
    return out
