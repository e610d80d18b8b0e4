"""Building a paired SDR/HDR set: plan clips from sources, render and degrade each clip, write manifests, resume.

Functions and classes
- plan(recipe, sources_root) -> Plan: usable sources, skipped ones with reasons, scene groups, splits, clip specs
- build_clip(spec, recipe, out) -> the clip's manifest; writes out/clips/<id>/ under a temporary name first
- build(sources_root, out, recipe, workers=2, ...) -> BuildReport: the whole set, resumable, with a progress bar

Layout of a built set (every path inside a manifest is relative to the set's root):
    recipe.json                      recipe and builder version (a different one refuses to resume here)
    manifest.json                    sources, skipped sources, splits, one entry per clip (deterministic)
    build_report.json                timings and sizes of the last run (the only file that differs between runs)
    clips/<id>/clip.json             per clip: source, licence, camera path, exposure, TMO, QPs, scales, seed,
                                     files and their SHA-256
    clips/<id>/hdr/NNN.png           HQ HDR: 16-bit PQ R'G'B' BT.2020 (value x 65535)
    clips/<id>/sdr/xS/NNN.png        HQ SDR: 8-bit BT.709 BT.1886 R'G'B', x1 and imresize-bicubic x2, x4
    clips/<id>/lq/qpQ/xS/NNN.png     LQ SDR: HQ SDR at scale S through libx265 at QP Q, decoded
    clips/<id>/lq/qpQ/xS.hevc        the bitstream itself
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sdr2hdr.color import pq_eotf
from sdr2hdr.data import camera
from sdr2hdr.data.degrade import X265_MIN_SIDE, draw_tmo, master, scene_exposure, sdr_encode, tone_map, x265_roundtrip
from sdr2hdr.data.recipe import Recipe
from sdr2hdr.data.resize import imresize
from sdr2hdr.data.sources import Source, discover, load_still, read_video_frames, scene_groups
from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_text_atomic
from sdr2hdr.io.images import file_sha256, write_png_codes

__all__ = ["ClipSpec", "Plan", "BuildReport", "plan", "build_clip", "build", "CLIP_MANIFEST", "SET_MANIFEST"]

CLIP_MANIFEST = "clip.json"
SET_MANIFEST = "manifest.json"
RECIPE_JSON = "recipe.json"
REPORT_JSON = "build_report.json"
TMP_PREFIX = ".tmp-"
# Bumped whenever the pipeline makes different pixels from the same recipe, so that a resumed build never mixes
# clips from two versions of the code.
BUILDER_VERSION = 2
SPLITS = ("train", "test")


@dataclass
class ClipSpec:
    """One clip to build: which source, which split, its own seed (derived from the set seed, source and index)."""

    id: str
    split: str
    source: Source
    index: int
    seed: int


@dataclass
class Plan:
    """What a build will do, before any pixel is made."""

    sources: list[Source]
    skipped: list[tuple[str, str]]
    groups: dict[str, int]  # source id -> scene group
    splits: dict[str, str]  # source id -> split
    clips: list[ClipSpec]


@dataclass
class BuildReport:
    """Counts and timings of a build run."""

    built: int = 0
    resumed: int = 0
    total: int = 0
    seconds: float = 0.0
    bytes_on_disk: int = 0
    clips_per_split: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    complete: bool = False


def _seed_for(seed: int, *parts) -> int:
    """A 63-bit seed from the set seed and names: independent of order, worker and machine."""
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _slug(source_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", source_id).strip("-").lower()


def _too_small(src: Source, recipe: Recipe) -> str | None:
    h, w = recipe.size
    if src.projection == "equirectangular":
        pc = recipe.panorama_camera
        zoom = camera.pano_zoom(src.width, w, pc.fov[1])
        if zoom > pc.max_zoom:
            return (f"too small: a {w}x{h} view of this {src.width}x{src.height} panorama would upsample it "
                    f"{zoom:.2f}x even at the widest fov {pc.fov[1]:g} deg (panorama_camera.max_zoom "
                    f"{pc.max_zoom:g})")
        return None
    if src.width < w or src.height < h:
        return f"smaller than the clip size ({src.width}x{src.height} < {w}x{h})"
    if src.is_video and src.frames < recipe.frames:
        return f"shorter than a clip ({src.frames} < {recipe.frames} frames)"
    return None


def plan(recipe: Recipe, sources_root: str | os.PathLike) -> Plan:
    """Discover sources, drop the unusable ones (with reasons), group scenes, split by scene, list the clips.

    Splits: within each collection (top folder of the sources), scene groups are shuffled with the seed and
    round(test_fraction x groups) of them go to test (at least one when the collection has two or more); a group
    spanning collections belongs to the collection of its first source. recipe.test_sources forces matches into
    test. Every source of a group gets its group's split, so no scene is in two splits.
    """
    found, skipped = discover(sources_root, equirect=recipe.equirect)
    sources = []
    for src in found:
        reason = _too_small(src, recipe)
        if reason:
            skipped.append((src.id, reason))
        else:
            sources.append(src)
    skipped.sort()
    roots = scene_groups(sources, recipe.scene_threshold)
    groups = {s.id: roots[i] for i, s in enumerate(sources)}
    members: dict[int, list[Source]] = {}
    for s in sources:
        members.setdefault(groups[s.id], []).append(s)
    by_collection: dict[str, list[int]] = {}
    for g, ss in sorted(members.items()):
        by_collection.setdefault(ss[0].collection, []).append(g)
    split_of_group: dict[int, str] = {}
    rng = np.random.default_rng(_seed_for(recipe.seed, "splits"))
    for coll in sorted(by_collection):
        gs = sorted(by_collection[coll], key=lambda g: members[g][0].id)
        order = [gs[i] for i in rng.permutation(len(gs))]
        n_test = round(recipe.test_fraction * len(gs))
        if recipe.test_fraction > 0 and len(gs) >= 2:
            n_test = max(n_test, 1)
        for k, g in enumerate(order):
            split_of_group[g] = "test" if k < n_test else "train"
    for g, ss in members.items():
        if any(fnmatch.fnmatch(s.id, pat) for s in ss for pat in recipe.test_sources):
            split_of_group[g] = "test"
    splits = {s.id: split_of_group[groups[s.id]] for s in sources}
    clips = []
    used: set[str] = set()
    for s in sources:
        split = splits[s.id]
        slug = _slug(s.id)
        if slug in used:  # two ids that differ only in punctuation
            slug = f"{slug}-{hashlib.sha256(s.id.encode()).hexdigest()[:6]}"
        used.add(slug)
        for k in range(int(recipe.clips_per_source.get(split, 0))):
            clips.append(ClipSpec(f"{slug}-{k:03d}", split, s, k, _seed_for(recipe.seed, s.id, k)))
    return Plan(sources, skipped, groups, splits, clips)


# --- one clip --------------------------------------------------------------------------------------------------

_SOURCE_CACHE: dict[str, tuple[np.ndarray, float, dict]] = {}


def _still(src: Source, recipe: Recipe) -> tuple[np.ndarray, float, dict]:
    """The source image with its scene exposure; a worker keeps the last few (the plan orders clips by source)."""
    key = (src.id, recipe.key_nits, recipe.highlight_nits)
    if key not in _SOURCE_CACHE:
        while len(_SOURCE_CACHE) >= 3:
            _SOURCE_CACHE.pop(next(iter(_SOURCE_CACHE)))
        img = load_still(src)
        gain, stats = scene_exposure(img, recipe.key_nits, recipe.highlight_nits) if src.kind == "linear" \
            else (1.0, {})
        _SOURCE_CACHE[key] = (img, gain, stats)
    return _SOURCE_CACHE[key]


def _r(x: float) -> float:
    """A manifest number: full precision (JSON keeps the shortest exact repr), so a clip can be re-rendered."""
    return float(x)


def _pose_dict(pose) -> dict:
    return {k: _r(v) for k, v in pose.__dict__.items()}


def _render_clip(spec: ClipSpec, recipe: Recipe, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Linear BT.2020 frames (T, h, w, 3) of the clip and the camera record."""
    src, (h, w), T = spec.source, recipe.size, recipe.frames
    ts = [i / max(T - 1, 1) for i in range(T)]
    if src.is_video:
        start = int(rng.integers(0, src.frames - T + 1))
        y0, x0 = int(rng.integers(0, src.height - h + 1)), int(rng.integers(0, src.width - w + 1))
        frames = read_video_frames(src, start, T)[:, y0:y0 + h, x0:x0 + w]
        return np.ascontiguousarray(frames), {"type": "video", "start_frame": start, "crop_xywh": [x0, y0, w, h]}
    img = _still(src, recipe)[0]
    cache: dict = {}
    if src.projection == "equirectangular":
        pc = recipe.panorama_camera
        path = camera.random_pano_path(rng, img.shape[:2], (h, w), fov_range=pc.fov, max_zoom=pc.max_zoom,
                                       max_pan=pc.max_pan, max_pitch=pc.max_pitch, max_roll=pc.max_roll,
                                       zoom_range=pc.zoom_range)
        poses = [path.pose(t) for t in ts]
        frames = np.stack([camera.render_equirect(img, p, (h, w), cache) for p in poses])
        kind = "equirectangular perspective"
    else:
        sc = recipe.still_camera
        H, W = img.shape[:2]
        fit = max(w / W, h / H) * 1.3
        # anywhere from "most of the photo" to about native resolution: the zoom of a clip is drawn log-uniformly
        hi = max(fit, sc.max_zoom / sc.zoom_range[1])
        base = math.exp(rng.uniform(math.log(fit), math.log(hi)))
        path = camera.random_path(rng, (H, W), (h, w), max_shift=sc.max_shift, zoom_range=sc.zoom_range,
                                  max_roll=sc.max_roll, base_zoom=base)
        poses = [path.pose(t) for t in ts]
        frames = np.stack([camera.render(img, p, (h, w), cache) for p in poses])
        kind = "crop window"
    rec = {"type": kind, "path": {k: _pose_dict(camera_pose) for k, camera_pose in
                                  (("start", path.start), ("end", path.end))},
           "poses": [_pose_dict(p) for p in poses], "ease": "cosine"}
    return frames.astype(np.float32), rec


def build_clip(spec: ClipSpec, recipe: Recipe, out: str | os.PathLike) -> dict:
    """Make one clip in out/clips/<id>: rendered under a temporary name, renamed into place when complete.

    Everything random comes from spec.seed, so a clip is the same bytes whichever worker builds it and
    whatever else the set holds. Returns the clip manifest (also written as clip.json).
    """
    out = Path(out)
    final = out / "clips" / spec.id
    tmp = out / "clips" / f"{TMP_PREFIX}{spec.id}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        manifest = _make_clip(spec, recipe, tmp)
        if final.exists():  # a stale clip from an older plan: the complete new one replaces it
            shutil.rmtree(final)
        os.rename(tmp, final)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _expose(spec: ClipSpec, recipe: Recipe, rng: np.random.Generator) -> tuple[float, dict]:
    """(gain to cd/m2, its record): scene-linear light is placed by its key; PQ sources are display light already."""
    src = spec.source
    if src.kind == "linear":
        base, stats = _still(src, recipe)[1:]
        stops = float(rng.uniform(*recipe.exposure_stops))
        gain = base * 2.0 ** stops
        return gain, {"reference": "scene log-average -> key_nits, scene p99 <= highlight_nits; x 2^stops",
                      "key_nits": recipe.key_nits, "highlight_nits": recipe.highlight_nits,
                      **{k: (_r(v) if isinstance(v, float) else v) for k, v in stats.items()},
                      "stops": _r(stops), "gain": _r(gain)}
    stops = float(rng.uniform(*recipe.display_exposure_stops))
    gain = 2.0 ** stops
    return gain, {"reference": "display-referred source, absolute cd/m2 x 2^stops", "stops": _r(stops),
                  "gain": _r(gain)}


def _write_frames(tmp: Path, folder: str, frames: np.ndarray) -> list[str]:
    """frames[i] as folder/NNN.png under tmp; the relative names, in order."""
    (tmp / folder).mkdir(parents=True, exist_ok=True)
    names = []
    for i, frame in enumerate(frames):
        rel = f"{folder}/{i:03d}.png"
        write_png_codes(tmp / rel, frame)
        names.append(rel)
    return names


def _write_scales(sdr: np.ndarray, recipe: Recipe, tmp: Path, files: dict) -> dict:
    """SDR at every scale and its x265 round trip at every QP, into files; returns the bitstream sizes."""
    bitstream_bytes: dict = {}
    for s in recipe.scales:
        sdr_s = sdr if s == 1 else np.stack([imresize(f, 1.0 / s) for f in sdr])
        files["sdr"][f"x{s}"] = _write_frames(tmp, f"sdr/x{s}", sdr_s[: recipe.frames])
        for qp in recipe.qps:
            d = tmp / "lq" / f"qp{qp}"
            d.mkdir(parents=True, exist_ok=True)
            lq, nbytes = x265_roundtrip(sdr_s, qp, intra_only=recipe.intra_only, preset=recipe.x265_preset,
                                        fps=recipe.fps, bitstream_path=d / f"x{s}.hevc")
            bitstream_bytes[f"qp{qp}/x{s}"] = nbytes
            files["lq"].setdefault(f"qp{qp}", {})[f"x{s}"] = _write_frames(tmp, f"lq/qp{qp}/x{s}", lq[: recipe.frames])
    return bitstream_bytes


def _clip_manifest(spec: ClipSpec, recipe: Recipe, cam: dict, exposure: dict, source_peak: float, tmo: str,
                   params: dict, files: dict, bitstream_bytes: dict, checksums: dict) -> dict:
    h, w = recipe.size
    return {
        "id": spec.id, "seed": spec.seed, "source": spec.source.record(), "licence": spec.source.licence,
        "frames": recipe.frames, "fps": recipe.fps, "size": [w, h], "camera": cam, "exposure": exposure,
        "mastering": {"peak_nits": recipe.peak_nits, "source_peak_nits": _r(source_peak),
                      "curve": "BT.2390 EETF per PQ component", "primaries": "BT.2020", "transfer": "PQ",
                      "storage": "16-bit PNG, PQ R'G'B' x 65535"},
        "tmo": {"name": tmo, "params": params},
        "sdr": {"gamut": "BT.2020 -> BT.709, hard clip (BT.2407 section 2)", "transfer": "BT.1886 inverse, 8-bit",
                "downscale": "MATLAB imresize bicubic, antialiased", "scales": list(recipe.scales)},
        "compression": {"codec": "libx265 (PyAV)", "qps": list(recipe.qps), "preset": recipe.x265_preset,
                        "intra_only": recipe.intra_only, "chroma": "4:2:0 BT.709 limited 8-bit",
                        "min_side": X265_MIN_SIDE,  # smaller pictures are edge-padded for the encoder
                        "bitstream_bytes": bitstream_bytes},
        "files": files, "checksums": checksums,
    }


def _make_clip(spec: ClipSpec, recipe: Recipe, tmp: Path) -> dict:
    """Render, master, tone-map, downscale and compress one clip into tmp; returns its manifest."""
    rng = np.random.default_rng(spec.seed)
    linear, cam = _render_clip(spec, recipe, rng)
    gain, exposure = _expose(spec, recipe, rng)
    nits = linear * np.float32(gain)
    source_peak = float(np.clip(nits.max(), recipe.peak_nits, 10000.0))
    hdr16 = np.clip(np.rint(master(nits, recipe.peak_nits, source_peak) * 65535.0), 0, 65535).astype(np.uint16)
    # the SDR is derived from the HDR target exactly as stored, so the pair is consistent to the last code value
    hdr_nits = np.asarray(pq_eotf(hdr16.astype(np.float32) / 65535.0), dtype=np.float32)

    tmo, params = draw_tmo(rng, recipe.tmo_weights)
    noise_rng = np.random.default_rng(_seed_for(spec.seed, "noise"))
    sdr = sdr_encode(tone_map(hdr_nits, tmo, params, noise_rng))

    files: dict = {"hdr": _write_frames(tmp, "hdr", hdr16[: recipe.frames]), "sdr": {}, "lq": {}}
    bitstream_bytes = _write_scales(sdr, recipe, tmp, files)
    checksums = {p.relative_to(tmp).as_posix(): file_sha256(p)
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
    manifest = _clip_manifest(spec, recipe, cam, exposure, source_peak, tmo, params, files, bitstream_bytes,
                              checksums)
    (tmp / CLIP_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


# --- the set ---------------------------------------------------------------------------------------------------

def _is_done(out: Path, spec: ClipSpec) -> bool:
    """A clip directory only exists once complete (rename is atomic); check it is the clip this plan wants."""
    path = out / "clips" / spec.id / CLIP_MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("seed") != spec.seed or manifest.get("source", {}).get("id") != spec.source.id:
        return False
    return all((path.parent / rel).is_file() for rel in manifest.get("checksums", {}))


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # parallelism is across clips; threads inside a clip would only contend


def _work(args) -> str:
    spec, recipe, out = args
    build_clip(spec, recipe, out)
    return spec.id


def _disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _write_set_manifest(out: Path, recipe: Recipe, p: Plan) -> None:
    clips = {}
    for spec in p.clips:
        mpath = out / "clips" / spec.id / CLIP_MANIFEST
        clips[spec.id] = {"split": spec.split, "source": spec.source.id, "manifest": f"clips/{spec.id}/{CLIP_MANIFEST}",
                          "sha256": file_sha256(mpath)}
    manifest = {
        "format": "sdr2hdr paired set v1",
        "builder_version": BUILDER_VERSION,
        "recipe": recipe.to_dict(),
        "sources": [{**s.record(), "split": p.splits[s.id], "scene_group": p.groups[s.id],
                     "clips": [c.id for c in p.clips if c.source.id == s.id]} for s in p.sources],
        "skipped_sources": [{"id": n, "reason": r} for n, r in p.skipped],
        "splits": {sp: [c.id for c in p.clips if c.split == sp] for sp in SPLITS},
        "clips": clips,
    }
    write_text_atomic(out / SET_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _stamp_recipe(out: Path, recipe: Recipe) -> None:
    """Record the recipe in a new folder; refuse a folder built with another recipe or builder version."""
    recipe_path = out / RECIPE_JSON
    stamp = {"builder_version": BUILDER_VERSION, "recipe": recipe.to_dict()}
    if not recipe_path.exists():
        recipe_path.write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
        return
    try:
        old = json.loads(recipe_path.read_text())
    except ValueError:
        old = None
    if old != stamp:
        raise InputError(f"{out} holds a set built with a different recipe or builder version ({recipe_path}); "
                         f"use a new --out")


def _remove_partial(out: Path) -> None:
    """Delete half-written clips (their temporary directories): they are redone."""
    for stale in (out / "clips").glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """OpenMP / OpenBLAS / MKL at one thread in the workers spawned inside the block, the caller's settings after.

    Spawned workers read these variables when they start, so they are set for the block (unless the caller set
    them) and put back as they were when it ends.
    """
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    before = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _build_clips(todo: list[ClipSpec], recipe: Recipe, out: Path, workers: int, report: BuildReport,
                 bar) -> None:
    """Build the clips in todo, in this process or across `workers` spawned processes, one thread each."""
    if workers <= 1 or len(todo) <= 1:
        import cv2

        threads = cv2.getNumThreads()
        try:
            with threadpool_limits(limits=1):
                _worker_init()
                for spec in todo:
                    build_clip(spec, recipe, out)
                    report.built += 1
                    bar.update()
        finally:
            cv2.setNumThreads(threads)  # the caller's OpenCV keeps its own thread count
        return
    # parallel across clips: each worker single-threaded (BLAS, OpenCV, x265 pools=1)
    with _one_thread_per_worker(), mp.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
        for _ in pool.imap_unordered(_work, [(c, recipe, out) for c in todo]):
            report.built += 1
            bar.update()


def _write_report(out: Path, report: BuildReport, p: Plan, workers: int) -> None:
    (out / REPORT_JSON).write_text(json.dumps({
        "built_this_run": report.built, "already_built": report.resumed, "clips": report.total,
        "complete": report.complete, "seconds": round(report.seconds, 1), "workers": workers,
        "bytes_on_disk": report.bytes_on_disk, "clips_per_split": report.clips_per_split,
        "skipped_sources": len(p.skipped)}, indent=1) + "\n")


def build(sources_root: str | os.PathLike, out: str | os.PathLike, recipe: Recipe, workers: int = 2,
          progress: bool = True, max_clips: int | None = None, log: Callable[[str], None] = print) -> BuildReport:
    """Build (or resume building) the set described by recipe from the sources under sources_root into out.

    Finished clips are kept; half-written ones (temporary directories) are removed and redone. A folder built
    with a different recipe is refused. max_clips stops after building that many new clips (the set manifest
    is written only when every clip is there). Returns counts, timings and the size on disk.
    """
    from tqdm import tqdm

    t0 = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _stamp_recipe(out, recipe)
    (out / "clips").mkdir(exist_ok=True)
    _remove_partial(out)
    p = plan(recipe, sources_root)
    report = BuildReport(total=len(p.clips), skipped=p.skipped)
    for name, reason in p.skipped:
        log(f"skipped {name}: {reason}")
    if not p.clips:
        raise InputError(f"no usable HDR source under {sources_root} ({len(p.skipped)} file(s) skipped)")
    todo = [c for c in p.clips if not _is_done(out, c)]
    report.resumed = len(p.clips) - len(todo)
    if max_clips is not None:
        todo = todo[:max_clips]
    n_src = {sp: len({c.source.id for c in p.clips if c.split == sp}) for sp in SPLITS}
    log(f"{len(p.sources)} sources ({n_src['train']} train, {n_src['test']} test), {len(p.skipped)} skipped; "
        f"{len(p.clips)} clips, {report.resumed} already built, {len(todo)} to build")
    bar = tqdm(total=len(todo), unit="clip", desc="building", disable=not progress, dynamic_ncols=True)
    try:
        _build_clips(todo, recipe, out, workers, report, bar)
    except BaseException:
        # the pool is terminated by now, so nothing writes any more: clear what the killed workers left half-done
        _remove_partial(out)
        raise
    finally:
        bar.close()
    report.seconds = time.monotonic() - t0
    report.complete = all(_is_done(out, c) for c in p.clips)
    report.clips_per_split = {sp: sum(c.split == sp for c in p.clips) for sp in SPLITS}
    if report.complete:
        _write_set_manifest(out, recipe, p)
    report.bytes_on_disk = _disk_usage(out)
    _write_report(out, report, p, workers)
    return report
