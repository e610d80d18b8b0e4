"""A tiny built data set made in the tests, in the manifest layout bench/dataset.py reads (see its docstring)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from sdr2hdr.color import BT709_TO_BT2020, apply_matrix, bt1886_inverse_eotf, gamut_clip_2020_to_709
from sdr2hdr.color import pq_inverse_eotf
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
                 seed: int = 0) -> Path:
    """One test clip per TMO (plus one train clip), as 16-bit PQ PNG HDR, 8-bit PNG SDR and LQ per QP."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    clips = []
    for k, (split, tmo) in enumerate([("test", t) for t in tmos] + [("train", tmos[0])]):
        cid = f"{split}_{k:02d}_{tmo}"
        base = Path(split) / cid
        hdr_dir, sdr_dir = root / base / "hdr", root / base / "sdr"
        hdr_dir.mkdir(parents=True)
        sdr_dir.mkdir(parents=True)
        lq = {str(qp): (base / f"lq_qp{qp}").as_posix() for qp in qps}
        lq_x2 = {str(qp): (base / f"lq_x2_qp{qp}").as_posix() for qp in qps}
        for d in [*lq.values(), *(lq_x2.values() if x2 else [])]:
            (root / d).mkdir(parents=True)
        for i, cd in enumerate(_scene(rng, frames)):
            write_png16(hdr_dir / f"{i:04d}.png", pq_inverse_eotf(cd))
            rel = gamut_clip_2020_to_709(FORWARD_TMOS[tmo](cd), upper=1.0)
            sdr = np.asarray(bt1886_inverse_eotf(100.0 * rel), dtype=np.float32)
            write_png8(sdr_dir / f"{i:04d}.png", sdr)
            sdr = np.rint(sdr * 255) / 255
            for qp in qps:
                low = _degrade(sdr, qp, rng)
                write_png8(root / lq[str(qp)] / f"{i:04d}.png", low)
                if x2:
                    small = cv2.resize(low, (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA)
                    write_png8(root / lq_x2[str(qp)] / f"{i:04d}.png", small)
        record = {"id": cid, "source": f"synthetic-{k}", "licence": "CC0", "split": split, "tmo": tmo,
                  "frames": frames, "seed": seed, "qps": list(qps), "scales": [1, 2] if x2 else [1],
                  "hdr": (base / "hdr").as_posix(), "sdr": (base / "sdr").as_posix(), "lq": lq}
        if x2:
            record["lq_x2"] = lq_x2
        clips.append(record)
    (root / "manifest.json").write_text(json.dumps({"version": 1, "clips": clips}, indent=1))
    return root
