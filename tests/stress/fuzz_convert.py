"""Fuzz `sdr2hdr convert` with mutated and truncated copies of small valid files.

Every run must end with status 0 (converted) or 2 (refused on one line), never a traceback, a hang, a changed
input or a file left in the output folder. Prints each failure with the mutant kept for replay.

    cd tests && python -m stress.fuzz_convert --count 200 --seconds 300 [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# (file name, ffmpeg output options): the seeds the mutants are made from
SEEDS = (
    ("h264.mp4", ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")),
    ("h264_aac.mkv", ("-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-c:a", "aac")),
    ("h264.ts", ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "mp2")),
    ("vp9.webm", ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus")),
    ("mjpeg.avi", ("-c:v", "mjpeg", "-an")),
    ("raw.h264", ("-c:v", "libx264", "-preset", "ultrafast", "-an", "-f", "h264")),
    ("y4m.y4m", ("-pix_fmt", "yuv420p", "-an")),
)
TIMEOUT_S = 90


@dataclass
class Result:
    """One mutant's run: what was done to which seed, and what went wrong (empty when nothing did)."""

    seed: str
    mutation: str
    returncode: int | None
    problem: str
    seconds: float


def make_seeds(folder: Path) -> list[Path]:
    """The valid files (64x48, 5 frames, a short tone where the container takes audio)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, opts in SEEDS:
        out = folder / name
        if not out.exists():
            cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24",
                   "-f", "lavfi", "-i", "sine=duration=0.25", "-frames:v", "5", *opts, str(out)]
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        paths.append(out)
    return paths


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A damaged copy: flipped bytes, a truncation, a zeroed or repeated block, or a cut from the middle."""
    kind = rng.choice(("flip", "truncate", "zero", "repeat", "cut"))
    buf = bytearray(data)
    n = len(buf)
    if kind == "flip":
        count = rng.randint(1, 24)
        for _ in range(count):
            buf[rng.randrange(n)] = rng.randrange(256)
        return bytes(buf), f"flip {count} bytes"
    if kind == "truncate":
        keep = rng.randrange(1, n)
        return bytes(buf[:keep]), f"truncate to {keep} of {n} bytes"
    start = rng.randrange(n)
    length = rng.randint(1, max(1, n // 8))
    if kind == "zero":
        buf[start: start + length] = bytes(min(length, n - start))
        return bytes(buf), f"zero {length} bytes at {start}"
    if kind == "repeat":
        return bytes(buf[:start] + buf[start: start + length] * 2 + buf[start + length:]), \
            f"repeat {length} bytes at {start}"
    return bytes(buf[:start] + buf[start + length:]), f"cut {length} bytes at {start}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_one(src: Path, work: Path, extra: tuple = ("--method", "bt2408")) -> tuple[int | None, str]:
    """Convert src into an empty folder; (status, problem), problem empty when the run behaved."""
    out_dir = work / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    before = _sha(src)
    cmd = [sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out_dir / "o.mkv"), "--quiet", *extra]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"hang: no exit within {TIMEOUT_S} s"
    left = sorted(p.name for p in out_dir.iterdir())
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    if "Traceback" in res.stderr:
        return res.returncode, "traceback: " + res.stderr.strip().splitlines()[-1]
    if res.returncode not in (0, 2):
        return res.returncode, f"exit status {res.returncode}: {res.stderr.strip()[-300:]}"
    if _sha(src) != before:
        return res.returncode, "the input changed"
    if res.returncode == 2 and (len(lines) != 1 or not lines[0].startswith("sdr2hdr: error: ")):
        return res.returncode, f"refusal is not one line: {res.stderr.strip()[-300:]}"
    if left != (["o.mkv"] if res.returncode == 0 else []):
        return res.returncode, f"output folder holds {left}"
    return res.returncode, ""


def fuzz(count: int, seconds: float, seed: int, work: Path, keep: Path | None = None,
         log: Callable[[str], None] = print) -> list[Result]:
    """Run up to count mutants (stopping after seconds); returns every run's result."""
    rng = random.Random(seed)
    seeds = make_seeds(work / "seeds")
    results: list[Result] = []
    t0 = time.monotonic()
    for i in range(count):
        if time.monotonic() - t0 > seconds:
            break
        origin = rng.choice(seeds)
        data, how = mutate(origin.read_bytes(), rng)
        mutant = work / f"mutant{origin.suffix}"
        mutant.write_bytes(data)
        t = time.monotonic()
        rc, problem = check_one(mutant, work)
        results.append(Result(origin.name, how, rc, problem, time.monotonic() - t))
        if problem:
            log(f"FAIL #{i} {origin.name} ({how}): {problem}")
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(mutant, keep / f"fail{i:04d}_{origin.stem}{origin.suffix}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="most mutants to run (default 200)")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop starting mutants after this long")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="copy failing mutants here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdr2hdr-fuzz-") as tmp:
        results = fuzz(args.count, args.seconds, args.seed, Path(tmp), args.keep)
    bad = [r for r in results if r.problem]
    converted = sum(r.returncode == 0 for r in results)
    refused = sum(r.returncode == 2 for r in results)
    slowest = max((r.seconds for r in results), default=0.0)
    print(f"{len(results)} mutants: {converted} converted, {refused} refused, {len(bad)} failures; "
          f"slowest run {slowest:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
