"""A contact sheet of a built set, so a person can look at what the models learn from.

Function
- contact_sheet(root, out=None, n_clips=4, qps=None) -> path of the PNG: per clip (middle frame) the HQ HDR
  tone-mapped for an SDR display, the HQ SDR, the LQ SDR at two QPs, a 2x zoom of the worst QP, and the x4 SDR
  blown back up (nearest), with the clip's degradation and PSNRs written above the row.

The HDR is shown through the BT.2390 EETF (maxRGB, 1000 -> 100 cd/m2), BT.2407 clip to BT.709 and BT.1886, which
the sheet's title says; PSNR is on 8-bit R'G'B' against the HQ SDR.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.data.degrade import sdr_encode
from sdr2hdr.errors import InputError
from sdr2hdr.io import write_png8
from sdr2hdr.tonemap import eetf_to_sdr

__all__ = ["contact_sheet", "display_hdr", "psnr8"]

TITLE = ("HQ HDR shown via BT.2390 EETF (maxRGB) 1000 -> 100 cd/m2, BT.2407 clip to BT.709, BT.1886 | "
         "PSNR of LQ vs HQ SDR, 8-bit R'G'B'")


def display_hdr(pq16: np.ndarray) -> np.ndarray:
    """16-bit PQ R'G'B' -> 8-bit SDR R'G'B' for looking at: EETF to 100 cd/m2 (maxRGB keeps hue), BT.709 clip."""
    nits = np.asarray(pq_eotf(pq16.astype(np.float32) / 65535.0), dtype=np.float32)
    return sdr_encode(eetf_to_sdr(nits, src_white=1000.0, mode="maxrgb"))


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (peak 255); inf when identical."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _read(path: Path) -> np.ndarray:
    import cv2

    px = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if px is None:
        raise InputError(f"cannot read {path}")
    return px[..., ::-1]


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    import cv2

    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)


def _choose_clips(manifest: dict, n_clips: int) -> list[str]:
    """Clip ids spread evenly over the test split (half of n_clips, at least one) and then the train split."""
    n_test = max(1, n_clips // 2) if manifest["splits"].get("test") else 0
    chosen = []
    for split, n in (("test", n_test), ("train", n_clips - n_test)):
        ids = manifest["splits"].get(split, [])
        if ids and n > 0:
            chosen += [ids[int(i)] for i in np.linspace(0, len(ids) - 1, min(n, len(ids))).round()]
    return chosen


def _clip_row(root: Path, manifest: dict, cid: str, lo: int, hi: int, big: int) -> tuple[str, list, list[str]]:
    """(heading, tiles, labels) of one clip's row: its middle frame as HDR, SDR, LQ at two QPs, a zoom, small."""
    import cv2

    cdir = root / "clips" / cid
    clip = json.loads((cdir / "clip.json").read_text())
    t = clip["frames"] // 2
    hdr = display_hdr(_read(cdir / clip["files"]["hdr"][t]))
    hq = _read(cdir / clip["files"]["sdr"]["x1"][t])
    lq_lo = _read(cdir / clip["files"]["lq"][f"qp{lo}"]["x1"][t])
    lq_hi = _read(cdir / clip["files"]["lq"][f"qp{hi}"]["x1"][t])
    h, w = hq.shape[:2]
    zoom = cv2.resize(lq_hi[h // 4: h // 4 + h // 2, w // 4: w // 4 + w // 2], (w, h),
                      interpolation=cv2.INTER_NEAREST)
    small = _read(cdir / clip["files"]["sdr"][f"x{big}"][t])
    up = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    tiles = [hdr, hq, lq_lo, lq_hi, zoom, up]
    labels = ["HQ HDR (tone-mapped)", "HQ SDR", f"LQ SDR QP{lo}", f"LQ SDR QP{hi}", f"QP{hi} centre, 2x",
              f"HQ SDR x{big} (nearest up)"]
    tmo = clip["tmo"]
    params = ", ".join(f"{k}={v}" for k, v in tmo["params"].items())
    head = (f"{cid} [{manifest['clips'][cid]['split']}] {clip['source']['id']} ({clip['licence']}) | "
            f"TMO {tmo['name']}({params}) | exposure {clip['exposure'].get('stops', 0):+.2f} stops | "
            f"PSNR QP{lo} {psnr8(lq_lo, hq):.1f} dB, QP{hi} {psnr8(lq_hi, hq):.1f} dB")
    return head, tiles, labels


def _layout(rows: list[tuple[str, list, list[str]]]) -> np.ndarray:
    """The sheet: a title, then per clip a heading, the tile labels and the tiles side by side."""
    h, w = rows[0][1][0].shape[:2]
    gap, head_h, label_h, title_h = 6, 22, 18, 30
    ncol = len(rows[0][1])
    sheet = np.full((title_h + len(rows) * (head_h + label_h + h + gap), ncol * w + (ncol + 1) * gap, 3), 24,
                    np.uint8)
    _text(sheet, TITLE, (gap, 20), 0.5)
    y = title_h
    for head, tiles, labels in rows:
        _text(sheet, head, (gap, y + 16), 0.42)
        y += head_h
        for k, (tile, label) in enumerate(zip(tiles, labels)):
            x = gap + k * (w + gap)
            _text(sheet, label, (x, y + 13), 0.42)
            sheet[y + label_h: y + label_h + h, x: x + w] = tile
        y += label_h + h + gap
    return sheet


def contact_sheet(root: str | os.PathLike, out: str | os.PathLike | None = None, n_clips: int = 4,
                  qps: tuple[int, int] | None = None) -> Path:
    """Write the contact sheet of the set at root (default ROOT/contact_sheet.png) and return its path.

    Clips are spread evenly over the test split and then the train split; qps defaults to the set's lowest and
    highest QP.
    """
    root = Path(root)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise InputError(f"{root} is not a built set (no manifest.json)")
    manifest = json.loads(mpath.read_text())
    recipe = manifest["recipe"]
    set_qps = sorted(recipe["qps"])
    lo, hi = qps if qps is not None else (set_qps[0], set_qps[-1])
    for q in (lo, hi):
        if q not in set_qps:
            raise InputError(f"QP {q} is not in the set (has {set_qps})")
    big = max(recipe["scales"])
    rows = [_clip_row(root, manifest, cid, lo, hi, big) for cid in _choose_clips(manifest, n_clips)]
    if not rows:
        raise InputError(f"{root} has no clips to show")
    out = Path(out) if out is not None else root / "contact_sheet.png"
    write_png8(out, _layout(rows).astype(np.float32) / 255.0)
    return out
