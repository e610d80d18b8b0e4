"""A tiny data set made in the tests, laid out as `sdr2hdr data build` writes one (manifest.json, clips/<id>/)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from sdr2hdr.color import BT709_TO_BT2020, apply_matrix, bt1886_inverse_eotf, gamut_clip_2020_to_709, pq_inverse_eotf
from sdr2hdr.io.images import write_png8, write_png16
from sdr2hdr.tonemap import FORWARD_TMOS

WIDTH, HEIGHT, FRAMES = 192, 176, 4
QPS = (27, 37)


def _scene(rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """Linear BT.2020 cd/m2 frames: a smooth coloured gradient with a few patches, drifting one pixel a frame.

    Colours are made inside BT.709 and kept below 300 cd/m2, so the SDR gamut clip and Method C's SDR white
    (332 cd/m2) leave them alone: the inverse of the clip's own curve can then be nearly exact.
    """
    yy, xx = np.mgrid[0:HEIGHT + frames, 0:WIDTH + frames].astype(np.float32)
    base = rng.uniform(0.2, 1.0, 3).astype(np.float32)
    img = (0.15 + 0.85 * xx[..., None] / xx.max()) * (0.3 + 0.7 * yy[..., None] / yy.max()) * base
    for _ in range(4):
        y0, x0 = rng.integers(0, HEIGHT - 40), rng.integers(0, WIDTH - 40)
        img[y0:y0 + 32, x0:x0 + 32] = rng.uniform(0.05, 1.0, 3)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    cd = apply_matrix(BT709_TO_BT2020, 280.0 * img)
    return [np.ascontiguousarray(cd[i:i + HEIGHT, i:i + WIDTH], dtype=np.float32) for i in range(frames)]


def _degrade(sdr: np.ndarray, qp: int, rng: np.random.Generator) -> np.ndarray:
    """A stand-in for coding at a QP: blur and noise that grow with it (the bench only needs the file layout)."""
    sigma = 0.2 + (qp - 22) / 30.0
    return np.clip(cv2.GaussianBlur(sdr, (0, 0), sigma) + rng.normal(0, (qp - 22) / 3000.0, sdr.shape), 0, 1)


def make_dataset(root: Path, tmos=("bt2446c", "hable"), frames: int = FRAMES, qps=QPS, x2: bool = False,
                 seed: int = 0, scales: tuple[int, ...] | None = None) -> Path:
    """One test clip per TMO plus one train clip, laid out as `sdr2hdr data build` lays out a set.

    manifest.json lists the splits and, per clip, its clips/<id>/clip.json; that one lists the frame files:
    hdr/NNN.png (16-bit PQ), sdr/xS/NNN.png (8-bit HQ SDR), lq/qpQ/xS/NNN.png (8-bit LQ SDR).
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    scales = scales or ((1, 2) if x2 else (1,))
    entries, splits = {}, {"train": [], "test": []}
    for k, (split, tmo) in enumerate([("test", t) for t in tmos] + [("train", tmos[0])]):
        cid = f"synthetic{k}-000"
        clip_dir = root / "clips" / cid
        files: dict = {"hdr": [], "sdr": {f"x{s}": [] for s in scales}, "lq": {}}

        def put(rel: str, img: np.ndarray, bits: int, clip_dir: Path = clip_dir) -> str:
            (clip_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (write_png16 if bits == 16 else write_png8)(clip_dir / rel, img)
            return rel

        for i, cd in enumerate(_scene(rng, frames)):
            files["hdr"].append(put(f"hdr/{i:03d}.png", pq_inverse_eotf(cd), 16))
            rel = gamut_clip_2020_to_709(FORWARD_TMOS[tmo](cd), upper=1.0)
            sdr = np.rint(np.asarray(bt1886_inverse_eotf(100.0 * rel), dtype=np.float32) * 255) / 255
            for s in scales:
                small = sdr if s == 1 else cv2.resize(sdr, (WIDTH // s, HEIGHT // s), interpolation=cv2.INTER_AREA)
                files["sdr"][f"x{s}"].append(put(f"sdr/x{s}/{i:03d}.png", small, 8))
                for qp in qps:
                    names = files["lq"].setdefault(f"qp{qp}", {}).setdefault(f"x{s}", [])
                    names.append(put(f"lq/qp{qp}/x{s}/{i:03d}.png", _degrade(small, qp, rng), 8))
        clip = {"id": cid, "seed": seed, "source": {"id": f"synthetic{k}", "licence": "CC0"}, "licence": "CC0",
                "frames": frames, "size": [WIDTH, HEIGHT], "tmo": {"name": tmo, "params": {}},
                "sdr": {"scales": list(scales)}, "compression": {"qps": list(qps)}, "files": files}
        text = json.dumps(clip, indent=1, sort_keys=True) + "\n"
        (clip_dir / "clip.json").write_text(text)
        entries[cid] = {"split": split, "source": f"synthetic{k}", "manifest": f"clips/{cid}/clip.json",
                        "sha256": hashlib.sha256(text.encode()).hexdigest()}
        splits[split].append(cid)
    manifest = {"format": "sdr2hdr paired set v1", "splits": splits, "clips": entries}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return root
