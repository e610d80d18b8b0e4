"""The test split of a built data set as the benchmark sees it: clips, their degradation model, frames per QP and scale.

This is the one place that knows the on-disk layout written by `sdr2hdr data build`; everything else in bench/
works on TestClip objects.

Functions and classes
- TestClip: one clip of the split (id, source, degradation model, frame count, where each frame sequence lives)
- load_split(data_dir, split) -> list[TestClip]; InputError for a folder without a manifest or an empty split
- TestClip.hdr() / .sdr() / .lq(qp, scale) -> list of float32 HWC frames (PQ R'G'B' / SDR R'G'B' in [0, 1])

Manifest assumed (manifest.json at the root of the data directory):
    {"clips": [{"id": ..., "source": ..., "split": "test", "tmo": "bt2446c", "frames": 10,
                "hdr": PATH, "sdr": PATH, "lq": {"37": PATH, ...}, "lq_x2": {...}, "lq_x4": {...}}, ...]}
The paths may also sit under "paths" or "files"; "lq" may instead be nested by scale ({"x1": {"37": PATH}}). A PATH
(relative to the data directory) is a folder of PNG frames in name order, a list of PNG files, or a video file.
The degradation model is read from "tmo", else "degradation"; the clip id from "id", else "name".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError

MANIFEST_NAMES = ("manifest.json",)
VIDEO_SUFFIXES = {".mkv", ".mp4", ".mov", ".hevc", ".h265", ".265", ".ts"}


@dataclass
class TestClip:
    """One test clip: where its HQ HDR, HQ SDR and LQ SDR frame sequences live, and how it was degraded."""

    id: str
    source: str
    degradation: str
    root: Path
    hdr_ref: object
    sdr_ref: object | None = None
    lq_refs: dict = field(default_factory=dict)  # (qp, scale) -> frame reference
    n_frames: int | None = None
    record: dict = field(default_factory=dict, repr=False)

    @property
    def qps(self) -> list[int]:
        return sorted({qp for qp, _ in self.lq_refs})

    def scales(self, qp: int) -> list[int]:
        return sorted(s for q, s in self.lq_refs if q == qp)

    def frame_count(self) -> int:
        """Frames in the clip: the manifest's count, else the HDR frame files (for the progress bar's total)."""
        if self.n_frames:
            return self.n_frames
        files = _frame_files(self.root, self.hdr_ref)
        return len(files) if isinstance(files, list) else 1

    def hdr(self) -> list[np.ndarray]:
        """HQ HDR target frames, PQ R'G'B' BT.2020 in [0, 1]."""
        return read_frames(self.root, self.hdr_ref)

    def sdr(self) -> list[np.ndarray] | None:
        """HQ SDR frames (before compression), R'G'B' BT.709 in [0, 1], or None when the set has none."""
        return None if self.sdr_ref is None else read_frames(self.root, self.sdr_ref)

    def lq(self, qp: int, scale: int = 1) -> list[np.ndarray]:
        """Compressed (and for scale > 1 downscaled) SDR frames decoded back, R'G'B' BT.709 in [0, 1]."""
        if (qp, scale) not in self.lq_refs:
            raise InputError(f"clip {self.id} has no LQ frames at QP {qp}, scale x{scale}")
        return read_frames(self.root, self.lq_refs[(qp, scale)])


def find_manifest(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(f"no such data directory: {data_dir}")
    if not data_dir.is_dir():
        raise InputError(f"not a directory: {data_dir} (pass the folder `sdr2hdr data build` wrote)")
    for name in MANIFEST_NAMES:
        if (data_dir / name).is_file():
            return data_dir / name
    raise InputError(f"{data_dir} has no manifest ({' or '.join(MANIFEST_NAMES)}): it is not a data set built by "
                     f"`sdr2hdr data build`")


def _int_key(key) -> int:
    """'37', 37, 'qp37', 'x2' -> the number in it."""
    m = re.search(r"\d+", str(key))
    if m is None:
        raise ValueError(key)
    return int(m.group())


def _lq_refs(paths: dict) -> dict:
    refs: dict = {}
    for key, value in paths.items():
        m = re.fullmatch(r"lq(?:_?x(\d+))?", key)
        if m is None or not isinstance(value, dict):
            continue
        scale = int(m.group(1) or 1)
        for k, v in value.items():
            if isinstance(v, dict):  # nested by scale: {"x2": {"37": path}}
                for qp, ref in v.items():
                    refs[(_int_key(qp), _int_key(k))] = ref
            else:
                refs[(_int_key(k), scale)] = v
    return refs


def _clip(record: dict, root: Path, where: str) -> TestClip:
    paths = dict(record)
    for key in ("paths", "files"):
        if isinstance(record.get(key), dict):
            paths.update(record[key])
    if "hdr" not in paths:
        raise InputError(f"{where}: a clip record has no 'hdr' frames path")
    clip_id = str(record.get("id") or record.get("name") or Path(str(paths["hdr"])).parent.name)
    return TestClip(
        id=clip_id,
        source=str(record.get("source", "")),
        degradation=str(record.get("tmo") or record.get("degradation") or "unknown"),
        root=root,
        hdr_ref=paths["hdr"],
        sdr_ref=paths.get("sdr"),
        lq_refs=_lq_refs(paths),
        n_frames=record.get("frames") if isinstance(record.get("frames"), int) else None,
        record=record,
    )


def load_split(data_dir: str | Path, split: str = "test") -> list[TestClip]:
    """The clips of one split, in manifest order; refuses a folder without a manifest or an empty split."""
    manifest = find_manifest(Path(data_dir))
    try:
        doc = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {manifest}: {exc}") from None
    records = doc.get("clips") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        raise InputError(f"{manifest}: expected a list of clip records under 'clips'")
    splits = sorted({str(r.get("split")) for r in records if isinstance(r, dict)})
    clips = [_clip(r, manifest.parent, str(manifest)) for r in records
             if isinstance(r, dict) and str(r.get("split")) == split]
    if not clips:
        raise InputError(f"{manifest}: no clips in split {split!r} (splits there: {', '.join(splits) or 'none'})")
    return clips


def _frame_files(root: Path, ref) -> list[Path] | Path:
    if isinstance(ref, (list, tuple)):
        return [root / str(p) for p in ref]
    path = root / str(ref)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
        if not files:
            raise InputError(f"no PNG frames in {path}")
        return files
    if path.is_file():
        return [path] if path.suffix.lower() == ".png" else path
    raise InputError(f"frames listed in the manifest are missing: {path}")


def read_frames(root: Path, ref) -> list[np.ndarray]:
    """Every frame of one sequence as float32 HWC in [0, 1] (PNG codes / 255 or / 65535; video decoded to R'G'B')."""
    from sdr2hdr.io.images import read_png

    files = _frame_files(root, ref)
    if isinstance(files, Path):
        if files.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"unsupported frame file {files} (PNG folder or video expected)")
        from sdr2hdr.io.video import VideoReader

        with VideoReader(files) as reader:
            return [reader.rgb(item) for kind, item in reader.items() if kind == "frame"]
    return [read_png(p)[0] for p in files]
