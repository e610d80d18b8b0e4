"""The held-out-curve test set: every test clip of a built set made into SDR by every curve, standard and unseen.

Each HDR test clip (sources never trained on) is tone mapped by each of the six standard degradation models (the
leave-one-curve-out protocol tests a model trained without that curve on these) and by the curves no training
set ever contains (tonemap.HELDOUT_TMOS), then BT.2407 clipped, 8-bit, x265 at each QP with inter coding,
decoded back. The result is laid out as a built set (manifest.json, clips/*/clip.json), so `sdr2hdr benchmark`
and `sdr2hdr evaluate` read it; each clip's degradation names its curve.

- build_heldout(data_dir, out, qps, frames) -> the set on disk (resumable, deterministic)
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

__all__ = ["CURVES", "build_heldout"]

HELDOUT_CURVES = ("aces", "log_shoulder")
CURVES = TMO_NAMES + HELDOUT_CURVES


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little")


def _sdr(nits: np.ndarray, curve: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    from sdr2hdr.tonemap import HELDOUT_TMOS

    if curve in HELDOUT_TMOS:
        return sdr_encode(np.asarray(HELDOUT_TMOS[curve](nits), dtype=np.float32)), {}
    _, params = draw_tmo(rng, {curve: 1.0})
    return sdr_encode(tone_map(nits, curve, params, rng)), params


def _write_png(path: Path, px: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(px[..., ::-1])):
        raise OSError(f"cannot write {path}")


def build_heldout(data_dir: str | os.PathLike, out: str | os.PathLike, qps: Sequence[int] = (27, 37, 42),
                  frames: int = 6, curves: Sequence[str] = CURVES, progress: bool = True) -> Path:
    """Write the held-out-curve set of the test split of `data_dir` into `out`."""
    from tqdm import tqdm

    from sdr2hdr.bench.dataset import load_split
    from sdr2hdr.io.images import file_sha256

    out = Path(out)
    clips = load_split(data_dir, "test")
    entries = {}
    bar = tqdm(total=len(clips) * len(curves), unit="clip", desc="held-out set", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    for clip in clips:
        hdr_pq = clip.hdr()[:frames]
        base = out / "base" / clip.id
        hdr_files = []
        for i, f in enumerate(hdr_pq):
            p = base / "hdr" / f"{i:03d}.png"
            if not p.exists():
                _write_png(p, np.clip(np.rint(f * 65535.0), 0, 65535).astype(np.uint16))
            hdr_files.append(f"../../base/{clip.id}/hdr/{i:03d}.png")
        nits = np.stack([np.asarray(pq_eotf(f), dtype=np.float32) for f in hdr_pq])
        for curve in curves:
            cid = f"{clip.id}-{curve}"
            cdir = out / "clips" / cid
            mpath = cdir / "clip.json"
            if not mpath.exists():
                rng = np.random.default_rng(_seed(clip.id, curve))
                sdr, params = _sdr(nits, curve, rng)
                files = {"hdr": hdr_files, "sdr": {"x1": []}, "lq": {}}
                for i, f in enumerate(sdr):
                    _write_png(cdir / "sdr" / f"{i:03d}.png", f)
                    files["sdr"]["x1"].append(f"sdr/{i:03d}.png")
                for qp in qps:
                    lq, _ = x265_roundtrip(sdr, qp, preset="medium")
                    names = []
                    for i, f in enumerate(lq):
                        _write_png(cdir / f"lq/qp{qp}" / f"{i:03d}.png", f)
                        names.append(f"lq/qp{qp}/{i:03d}.png")
                    files["lq"][f"qp{qp}"] = {"x1": names}
                m = {"id": cid, "source": {"id": clip.source}, "tmo": {"name": curve, "params": params},
                     "base_clip": clip.id, "held_out_curve": curve in HELDOUT_CURVES, "files": files}
                tmp = cdir / "clip.json.part"
                tmp.write_text(json.dumps(m, indent=1))
                os.replace(tmp, mpath)
            entries[cid] = {"split": "test", "source": clip.source, "manifest": f"clips/{cid}/clip.json",
                            "sha256": file_sha256(mpath)}
            bar.update(1)
    bar.close()
    manifest = {"format": "sdr2hdr paired set v1", "kind": "held-out curves", "from": Path(data_dir).name,
                "curves": list(curves), "qps": list(qps), "frames": frames,
                "splits": {"train": [], "test": list(entries)}, "clips": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return out
