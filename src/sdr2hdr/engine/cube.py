"""`sdr2hdr lut`: a per-pixel mapping written as a .cube 3D LUT (Adobe/Resolve format, read by ffmpeg's lut3d).

The lattice samples SDR R'G'B' (BT.709 primaries, BT.1886 gamma 2.4, full range: 0 = code 0, 1 = code 255 or
1023) and holds PQ R'G'B' (SMPTE ST 2084, BT.2020 primaries, full range: 1 = 10000 cd/m2), red varying fastest as
the format says. The header comments say both, the mapping and its options. A player applies it to R'G'B' before
its own Y'CbCr conversion, so range and matrix are the player's to get right.

- cube_text(fn, size, comments) -> str, write_cube(path, fn, size, comments) -> Path
- read_cube(path) -> (size, table (size, size, size, 3) indexed [b, g, r]) for tests and tools
- shot_cubes(clip, out, size, mapper_notes): the default's per-shot mappings, one .cube each plus a shot list
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError

SIZES = (17, 33, 65)
ENCODING_NOTES = ("input: SDR R'G'B', BT.709 primaries, BT.1886 (gamma 2.4), full range [0, 1] (0 = black, "
                  "1 = SDR 100 % white)",
                  "output: HDR PQ R'G'B' (SMPTE ST 2084), BT.2020 primaries, full range [0, 1] (1 = 10000 cd/m2)")


def lattice(size: int) -> np.ndarray:
    """The (size^3, 3) R'G'B' input points in .cube order (red fastest, then green, then blue)."""
    g = np.linspace(0.0, 1.0, size, dtype=np.float32)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    return np.stack([r.ravel(), gg.ravel(), b.ravel()], axis=-1)


def cube_text(fn: Callable[[np.ndarray], np.ndarray], size: int, comments: list[str]) -> str:
    """The .cube file of `fn` (R'G'B' (1, N, 3) -> PQ R'G'B') on a size^3 lattice."""
    if size not in SIZES:
        raise InputError(f"--size must be one of {', '.join(map(str, SIZES))}, got {size}")
    pts = lattice(size)
    out = np.clip(np.asarray(fn(pts[None]), dtype=np.float64)[0], 0.0, 1.0)
    head = [f"# {c}" for c in (*comments, *ENCODING_NOTES)]
    head += [f"LUT_3D_SIZE {size}", "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0"]
    body = "\n".join(f"{r:.7f} {g:.7f} {b:.7f}" for r, g, b in out)
    return "\n".join(head) + "\n" + body + "\n"


def write_cube(path: str | os.PathLike, fn: Callable[[np.ndarray], np.ndarray], size: int,
               comments: list[str]) -> Path:
    """Write the .cube of `fn` atomically; returns its path."""
    from sdr2hdr.io.atomic import write_atomic

    text = cube_text(fn, size, comments)
    return write_atomic(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="ascii"))


def read_cube(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """(size, table) of a .cube file, table indexed [b, g, r, channel]."""
    size, rows = None, []
    for line in Path(path).read_text(encoding="ascii").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("DOMAIN_") or line.startswith("TITLE"):
            continue
        if line.startswith("LUT_3D_SIZE"):
            size = int(line.split()[1])
            continue
        rows.append([float(v) for v in line.split()])
    if size is None or len(rows) != size ** 3:
        raise InputError(f"not a 3D .cube file: {path}")
    return size, np.asarray(rows, dtype=np.float32).reshape(size, size, size, 3)


def _frames(clip: Path, max_frames: int | None):
    """(time, SDR R'G'B') of each frame of a clip, or of one still (time 0)."""
    from sdr2hdr.engine.paths import is_image_path

    if is_image_path(clip):
        from sdr2hdr.engine.pairs import _sdr_still

        yield 0.0, _sdr_still(clip)
        return
    from sdr2hdr.io.reader import VideoReader

    with VideoReader(clip) as reader:
        frames = (x for kind, x in reader.items() if kind == "frame")
        for i, frame in enumerate(frames):
            if max_frames is not None and i >= max_frames:
                break
            yield float(frame.time or 0.0), reader.rgb(frame)


def shot_cubes(clip: str | os.PathLike, out: Path, size: int, peak_nits: float, post: Callable,
               comments: list[str], max_frames: int | None = None,
               middle_grey: float | None = None) -> list[tuple[int, float, Path]]:
    """The default model's mapping for each shot of `clip` (a video or one still), as convert's code-table path
    bakes them (first frame, scene cuts, drift, the level convention's ``middle_grey``), each as OUT-NNN.cube, and
    OUT-shots.csv listing first frame, time and file."""
    import torch

    from sdr2hdr.engine.adaptive import PriorTracker
    from sdr2hdr.models.adaptive_itm import views
    from sdr2hdr.models.weights import default_model, load_model

    model, path = load_model(default_model() or "adaptive_itm", None)
    model.target_grade = (model.target_grade[0], float(peak_nits))
    model.middle_grey = middle_grey  # placed as convert places it (color.level)
    tracker = PriorTracker(model.eval())
    shots = []
    for i, (t, rgb) in enumerate(_frames(Path(clip), max_frames)):
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        _, rebuild = tracker.update(*views(x))
        if rebuild:
            dst = out.with_name(f"{out.stem}-{len(shots):03d}.cube")
            fn = post(model.pq_mapping(tracker.baked))
            write_cube(dst, fn, size, [*comments, f"shot {len(shots)} from frame {i} ({t:.3f} s) of "
                                                  f"{Path(clip).name}, weights {path.name}"])
            shots.append((i, t, dst))
    lines = ["shot,first_frame,time_s,cube"] + [f"{k},{i},{t:.3f},{p.name}" for k, (i, t, p) in enumerate(shots)]
    (out.with_name(f"{out.stem}-shots.csv")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return shots
