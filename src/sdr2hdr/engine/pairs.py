"""Matched SDR / HDR material for `sdr2hdr calibrate`: two videos, two stills or two folders of stills -> Pairs.

- load_pairs(sdr, hdr, frames) -> [Pair]: at most `frames` matched pictures, spread evenly over the material
- check_same_content(pair): refuses a pair whose luminance orders disagree (not the same picture)

Videos are paired by presentation time from each file's first frame (each SDR frame with the HDR frame within
half a frame period of it); the whole of both must pair, give or take one frame at either end, or the material is
refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sdr2hdr.color import luminance
from sdr2hdr.engine.calibrate import MIN_RANK_CORRELATION, Pair
from sdr2hdr.errors import InputError
from sdr2hdr.io.extensions import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS
from sdr2hdr.io.images import read_image

_STILLS = IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS


def _is_still(path: Path) -> bool:
    return path.suffix.lower() in _STILLS


def _spread(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n) (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (k - 1))) for i in range(k)}) if k > 1 else [n // 2]


def _sdr_still(path: Path) -> np.ndarray:
    img = read_image(path)
    if img.kind != "sdr":
        raise InputError(f"the SDR side is HDR: {path} (give the SDR version first, then the HDR one)")
    return img.pixels


def _hdr_still(path: Path) -> np.ndarray:
    from sdr2hdr.engine.preview import as_pq

    return as_pq(read_image(path), path)


def _rank(v: np.ndarray) -> np.ndarray:
    r = np.empty(v.size, dtype=np.float64)
    r[np.argsort(v, kind="stable")] = np.arange(v.size)
    return r


def check_same_content(pair: Pair) -> None:
    """Refuse a pair whose 32x32 luminance thumbnails are not ordered alike (Spearman rank correlation)."""
    import cv2

    def thumb(x: np.ndarray, primaries: str) -> np.ndarray:
        y = luminance(np.asarray(x, dtype=np.float32), primaries)[..., 0]
        return cv2.resize(np.ascontiguousarray(y), (32, 32), interpolation=cv2.INTER_AREA)

    a = thumb(pair.sdr, "bt709").ravel()
    b = thumb(pair.pq, "bt2020").ravel()
    if a.std() < 1e-4 or b.std() < 1e-4:
        return  # a flat picture says nothing about its match; the fit's report will
    rho = float(np.corrcoef(_rank(a), _rank(b))[0, 1])
    if not rho >= MIN_RANK_CORRELATION:
        raise InputError(f"the SDR and HDR pictures do not match ({pair.name}: luminance rank correlation "
                         f"{rho:.2f}, below {MIN_RANK_CORRELATION}); give the same shots in both")


def _fit_shape(sdr: np.ndarray, pq: np.ndarray, name: str) -> np.ndarray:
    """The HDR picture at the SDR picture's size (same aspect ratio required)."""
    import cv2

    (h, w), (H, W) = sdr.shape[:2], pq.shape[:2]
    if (h, w) == (H, W):
        return pq
    if abs(w / h - W / H) > 0.01 * w / h:
        raise InputError(f"the SDR and HDR pictures differ in shape ({name}: {w}x{h} against {W}x{H})")
    return cv2.resize(pq, (w, h), interpolation=cv2.INTER_AREA)


def _pair(sdr: np.ndarray, pq: np.ndarray, name: str) -> Pair:
    p = Pair(sdr.astype(np.float32), _fit_shape(sdr, pq, name).astype(np.float32), name)
    check_same_content(p)
    return p


def _folder_pairs(sdr: Path, hdr: Path, frames: int) -> list[Pair]:
    def stills(d: Path) -> dict[str, Path]:
        return {p.stem: p for p in sorted(d.iterdir()) if p.is_file() and _is_still(p)}

    a, b = stills(sdr), stills(hdr)
    common = sorted(set(a) & set(b))
    if not common:
        raise InputError(f"no file names in common between {sdr} and {hdr} (stills are matched by name)")
    names = [common[i] for i in _spread(len(common), frames)]
    return [_pair(_sdr_still(a[n]), _hdr_still(b[n]), n) for n in names]


def _times(path: Path) -> list[float]:
    """Presentation times in seconds of the first video stream's frames, from the packets (no decoding)."""
    from sdr2hdr.io.media import open_container, probe

    info = probe(path)
    with open_container(path) as c:
        s = c.streams[info.index]
        t = sorted(float(p.pts * s.time_base) for p in c.demux(s) if p.pts is not None and p.size)
    # from each file's own start: containers differ in where the first frame sits (an MP4's edit list, B-frames)
    return [x - t[0] for x in t] if t else t


def _decode(path: Path, wanted: set[int], hdr: bool) -> dict[int, np.ndarray]:
    """The frames at the given presentation-order indices, as SDR R'G'B' or PQ R'G'B'."""
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import TRC_PQ, open_container, probe

    info = probe(path)
    if hdr and info.cicp[1] != TRC_PQ:
        raise InputError(f"the HDR side is not a PQ (HDR10) video: {path} ({info.hdr or 'SDR'})")
    if not hdr and info.hdr:
        raise InputError(f"the SDR side is HDR: {path} ({info.hdr}); give the SDR version first, then the HDR one")
    out = {}
    with open_container(path) as c:
        for i, frame in enumerate(c.decode(c.streams[info.index])):
            if i in wanted:
                out[i] = frame_to_rgb(frame, info.matrix, info.full_range)
            if len(out) == len(wanted):
                break
    return out


def _video_pairs(sdr: Path, hdr: Path, frames: int) -> list[Pair]:
    ts, th = _times(sdr), _times(hdr)
    if len(ts) < 1 or len(th) < 1:
        raise InputError(f"no video frames in {sdr if not ts else hdr}")
    period = float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0
    th_arr = np.asarray(th)
    j = np.clip(np.searchsorted(th_arr, ts), 1, len(th) - 1) if len(th) > 1 else np.zeros(len(ts), dtype=int)
    nearest = np.where(np.abs(th_arr[j - 1] - ts) < np.abs(th_arr[j] - ts), j - 1, j) if len(th) > 1 else j
    ok = np.abs(th_arr[nearest] - np.asarray(ts)) < period / 2
    if ok.sum() < max(len(ts), len(th)) - 2:
        raise InputError(f"the frames cannot be paired by time: {sdr} has {len(ts)} frames, {hdr} has {len(th)}, "
                         f"{int(ok.sum())} of them at the same times")
    matched = [(i, int(nearest[i])) for i in np.flatnonzero(ok)]
    chosen = [matched[k] for k in _spread(len(matched), frames)]
    a = _decode(sdr, {i for i, _ in chosen}, hdr=False)
    b = _decode(hdr, {k for _, k in chosen}, hdr=True)
    return [_pair(a[i], b[k], f"frame {i}") for i, k in chosen]


def load_pairs(sdr: str | os.PathLike, hdr: str | os.PathLike, frames: int = 10) -> list[Pair]:
    """At most `frames` matched pictures of the SDR and HDR material (both videos, stills, or folders)."""
    sdr, hdr = Path(sdr), Path(hdr)
    for p in (sdr, hdr):
        if not p.exists():
            raise InputError(f"no such file or folder: {p}")
    kinds = ["folder" if p.is_dir() else "still" if _is_still(p) else "video" for p in (sdr, hdr)]
    if kinds[0] != kinds[1]:
        raise InputError(f"give both sides alike (two videos, two stills or two folders), not a {kinds[0]} and a "
                         f"{kinds[1]}")
    if kinds[0] == "folder":
        return _folder_pairs(sdr, hdr, frames)
    if kinds[0] == "still":
        return [_pair(_sdr_still(sdr), _hdr_still(hdr), sdr.name)]
    return _video_pairs(sdr, hdr, frames)
