"""The held-out-curve test set: every test clip of a built set made into SDR by every curve, standard and unseen.

Each HDR test clip (sources never trained on) is tone mapped by each of the six standard degradation models (the
leave-one-curve-out protocol tests a model trained without that curve on these) and by the curves no training
set ever contains (tonemap.HELDOUT_TMOS), then BT.2407 clipped, 8-bit, x265 at each QP with inter coding,
decoded back. The result is laid out as a built set (manifest.json, clips/*/clip.json), so `sdr2hdr benchmark`
and `sdr2hdr evaluate` read it; each clip's degradation names its curve.

For the SR-ITM task (Deep SR-ITM, GPGMNet) each curve's uncoded SDR is also down-scaled x2 and x4 with MATLAB-style
antialiased bicubic (data.resize.imresize, as the fixed builder makes its sdr/xS), written as sdr/xS/NNN.png and
listed in clip.json files.sdr.xS; the target stays the full-size HDR, so `sdr2hdr benchmark --task sr-itm --scale S`
reads the set. The x1 SDR keeps its place at sdr/NNN.png; the coded input exists at x1 only.

- build_heldout(data_dir, out, qps, frames, curves, scales) -> the set on disk (resumable, deterministic); rerun on
  a set made before the SR scales, it adds each clip's sdr/x2, sdr/x4 from its x1 SDR and re-encodes nothing
- CURVES: the curves of the set, standard first
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.data.degrade import TMO_NAMES, draw_tmo, sdr_encode, tone_map, x265_roundtrip
from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_text_atomic
from sdr2hdr.io.images import file_sha256, write_png_codes

__all__ = ["CURVES", "build_heldout"]

HELDOUT_CURVES = ("aces", "log_shoulder", "agx")
CURVES = TMO_NAMES + HELDOUT_CURVES


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little")


def _sdr(nits: np.ndarray, curve: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    from sdr2hdr.tonemap import HELDOUT_TMOS

    if curve in HELDOUT_TMOS:
        return sdr_encode(np.asarray(HELDOUT_TMOS[curve](nits), dtype=np.float32)), {}
    _, params = draw_tmo(rng, {curve: 1.0})
    return sdr_encode(tone_map(nits, curve, params, rng)), params


def _check_scales(scales: Sequence[int]) -> tuple[int, ...]:
    """The scales of the uncoded SDR, sorted; x1 (the source of every other input) is always among them."""
    try:
        out = sorted({int(v) for v in scales} | {1})
    except (TypeError, ValueError):
        raise InputError(f"scales must be integers, got {scales!r}") from None
    if out[0] < 1:
        raise InputError(f"a scale is 1 or more, got {list(scales)}")
    return tuple(out)


def _missing_scales(cdir: Path, files: dict, scales: Sequence[int]) -> list[int]:
    """The scales > 1 a clip lacks: not listed in its clip.json, or listed with a file missing on disk."""
    return [s for s in scales if s > 1 and not (files["sdr"].get(f"x{s}")
                                                  and all((cdir / r).is_file() for r in files["sdr"][f"x{s}"]))]


def _write_scaled(cdir: Path, sdr: np.ndarray, scales: Sequence[int], files: dict) -> None:
    """Each 8-bit SDR frame down-scaled by each scale (MATLAB-style antialiased bicubic, rounded to 8 bits as the
    fixed builder does) into sdr/xS/NNN.png, listed in files (the clip's "files" record) under sdr.xS."""
    from sdr2hdr.data.resize import imresize

    for s in scales:
        names = []
        for i, f in enumerate(sdr):
            name = f"sdr/x{s}/{i:03d}.png"
            write_png_codes(cdir / name, imresize(f, 1.0 / s))
            names.append(name)
        files["sdr"][f"x{s}"] = names


def _read_sdr(cdir: Path, names: list[str]) -> np.ndarray:
    """A clip's x1 SDR frames as written (PNG is lossless: the very codes the curve gave), RGB uint8."""
    import cv2

    frames = []
    for rel in names:
        px = cv2.imread(str(cdir / rel), cv2.IMREAD_UNCHANGED)
        if px is None or px.dtype != np.uint8 or px.ndim != 3:
            raise InputError(f"cannot read the 8-bit SDR frame {cdir / rel}; delete {cdir} and rerun to rebuild it")
        frames.append(px[..., ::-1])
    return np.stack(frames)


def _write_base(out: Path, clip_id: str, hdr_pq: np.ndarray) -> list[str]:
    """A test clip's HDR frames once, as 16-bit PQ PNGs under base/<clip>/hdr; their paths as seen from a clip."""
    names = []
    for i, f in enumerate(hdr_pq):
        p = out / "base" / clip_id / "hdr" / f"{i:03d}.png"
        if not p.exists():
            write_png_codes(p, np.clip(np.rint(f * 65535.0), 0, 65535).astype(np.uint16))
        names.append(f"../../base/{clip_id}/hdr/{i:03d}.png")
    return names


def _make_clip(cdir: Path, clip, curve: str, nits: np.ndarray, hdr_files: list[str], qps: Sequence[int],
               scales: Sequence[int]) -> dict:
    """One clip of the set: the curve's SDR at each scale, x265 at each QP; its clip.json record."""
    rng = np.random.default_rng(_seed(clip.id, curve))
    sdr, params = _sdr(nits, curve, rng)
    files = {"hdr": hdr_files, "sdr": {"x1": []}, "lq": {}}
    for i, f in enumerate(sdr):
        write_png_codes(cdir / "sdr" / f"{i:03d}.png", f)
        files["sdr"]["x1"].append(f"sdr/{i:03d}.png")
    _write_scaled(cdir, sdr, [s for s in scales if s > 1], files)
    for qp in qps:
        lq, _ = x265_roundtrip(sdr, qp, preset="medium")
        names = []
        for i, f in enumerate(lq):
            write_png_codes(cdir / f"lq/qp{qp}" / f"{i:03d}.png", f)
            names.append(f"lq/qp{qp}/{i:03d}.png")
        files["lq"][f"qp{qp}"] = {"x1": names}
    return {"id": cdir.name, "source": {"id": clip.source}, "tmo": {"name": curve, "params": params},
            "base_clip": clip.id, "held_out_curve": curve in HELDOUT_CURVES, "files": files}


def _add_scales(cdir: Path, m: dict, scales: Sequence[int]) -> None:
    """A clip made before these scales gains them from its x1 SDR; clip.json is rewritten last."""
    todo = _missing_scales(cdir, m["files"], scales)
    if todo:
        _write_scaled(cdir, _read_sdr(cdir, m["files"]["sdr"]["x1"]), todo, m["files"])
        write_text_atomic(cdir / "clip.json", json.dumps(m, indent=1))


def build_heldout(data_dir: str | os.PathLike, out: str | os.PathLike, qps: Sequence[int] = (27, 37, 42),
                  frames: int = 6, curves: Sequence[str] = CURVES, scales: Sequence[int] = (1, 2, 4),
                  progress: bool = True) -> Path:
    """Write the held-out-curve set of the test split of `data_dir` into `out`.

    scales: the uncoded SDR's scales (x1 always; x2 and x4 are the SR-ITM papers' bicubic down-scales). A clip
    already built is kept as it is; one that lacks a requested scale gains it from its x1 SDR, nothing re-encoded.
    """
    from tqdm import tqdm

    from sdr2hdr.data.split import load_split

    out = Path(out)
    scales = _check_scales(scales)
    clips = load_split(data_dir, "test")
    entries = {}
    common: set[int] | None = None  # the scales every clip has
    bar = tqdm(total=len(clips) * len(curves), unit="clip", desc="held-out set", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    for clip in clips:
        hdr_pq = clip.hdr()[:frames]
        hdr_files = _write_base(out, clip.id, hdr_pq)
        nits = None  # the clip's light, made once and only when a curve's clip is missing
        for curve in curves:
            cid = f"{clip.id}-{curve}"
            cdir = out / "clips" / cid
            mpath = cdir / "clip.json"
            if mpath.exists():
                m = json.loads(mpath.read_text())
                _add_scales(cdir, m, scales)
            else:
                if nits is None:
                    nits = np.stack([np.asarray(pq_eotf(f), dtype=np.float32) for f in hdr_pq])
                m = _make_clip(cdir, clip, curve, nits, hdr_files, qps, scales)
                write_text_atomic(mpath, json.dumps(m, indent=1))
            got = {int(k[1:]) for k, v in m["files"]["sdr"].items() if v}
            common = got if common is None else common & got
            entries[cid] = {"split": "test", "source": clip.source, "manifest": f"clips/{cid}/clip.json",
                            "sha256": file_sha256(mpath)}
            bar.update(1)
    bar.close()
    manifest = {"format": "sdr2hdr paired set v1", "kind": "held-out curves", "from": Path(data_dir).name,
                "curves": list(curves), "qps": list(qps), "frames": frames, "scales": sorted(common or {1}),
                "downscale": "MATLAB imresize bicubic, antialiased, of the uncoded 8-bit SDR (sdr/xS)",
                "splits": {"train": [], "test": list(entries)}, "clips": entries}
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return out
