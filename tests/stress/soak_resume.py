"""The soak check of a plain `convert` that is resumable by default: a long 1080p conversion killed with SIGKILL at
random moments and run again (the same command each time) until it completes, its memory sampled all along; at the
end its output must equal an uninterrupted run's (decoded planes, frame and packet times, packet MD5s), and its peak
memory must stay flat over the run.

Makes a 1080p H.264 clip of --seconds (stress.check_resume's: the bundled sample looped and scaled up, a keyframe
every half second, B-frames, an AAC track) unless --input is given, converts it once uninterrupted, then again under
kills: each run is killed at a random moment within the piece after the one it finished (now and then during its
start-up instead), until a run completes. Prints each kill, the resident memory peak per minute of the killed runs
and per run, and the comparison.
Not a test (tens of minutes of CPU). Run from tests/: `cd tests && python -m stress.soak_resume [--seconds 120]`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

import av
import numpy as np
from clip_tools import packet_times

from sdr2hdr.io.frames import frame_plane
from stress.check_resume import make_clip


def rss_mib(pid: int) -> float | None:
    """The process's resident set size in MiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """Samples a process's resident memory every `every` seconds: (seconds since the soak began, MiB)."""

    def __init__(self, proc: subprocess.Popen, t0: float, samples: list, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.proc, self.t0, self.samples, self.every = proc, t0, samples, every

    def run(self) -> None:
        while self.proc.poll() is None:
            mib = rss_mib(self.proc.pid)
            if mib is not None:
                self.samples.append((time.perf_counter() - self.t0, mib))
            time.sleep(self.every)


def command(src: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out), "--quiet", *extra]


def pieces(parts: Path) -> list[Path]:
    return sorted(parts.glob("piece-*.json"), key=lambda p: p.stat().st_mtime_ns) if parts.exists() else []


def one_run(cmd: list[str], t0: float, samples: list) -> tuple[subprocess.Popen, Sampler]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(proc, t0, samples)
    sampler.start()
    return proc, sampler


def killed_runs(cmd: list[str], out: Path, rng: random.Random, early: float, samples: list) -> dict:
    """Run and kill until a run completes; returns kills, runs, wall time and each run's peak memory."""
    parts = out.parent / f".{out.name}.parts"
    t0 = time.perf_counter()
    kills, peaks = 0, []
    while True:
        before = len(pieces(parts))
        start = len(samples)
        proc, sampler = one_run(cmd, t0, samples)
        if rng.random() < early:  # now and then during start-up, before any new piece
            time.sleep(rng.uniform(0.0, 8.0))
        else:
            while proc.poll() is None and len(pieces(parts)) <= before:
                time.sleep(0.05)
            done = pieces(parts)
            took = json.loads(done[-1].read_text())["seconds"] if done else 5.0
            time.sleep(rng.uniform(0.0, 1.0) * took)
        finished = proc.poll() is not None
        if not finished:
            proc.kill()
            kills += 1
        _, err = proc.communicate()
        sampler.join()
        peaks.append(max((m for _, m in samples[start:]), default=0.0))
        if finished:
            if proc.returncode != 0:
                raise SystemExit(f"the last run failed: {err.strip()}")
            break
        print(f"  kill {kills} at {time.perf_counter() - t0:.0f} s: {len(pieces(parts))} piece(s) kept, "
              f"peak {peaks[-1]:.0f} MiB in that run", flush=True)
    return {"kills": kills, "runs": len(peaks), "seconds": time.perf_counter() - t0, "peaks": peaks,
            "journal_left": parts.exists()}


def per_minute(samples: list) -> list[tuple[int, float]]:
    """(minute, peak MiB within it) over the killed runs."""
    peaks: dict[int, float] = {}
    for t, mib in samples:
        peaks[int(t // 60)] = max(peaks.get(int(t // 60), 0.0), mib)
    return sorted(peaks.items())


def frames(path: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(pts, the three 10-bit planes flattened) of each decoded frame, one at a time (clip_tools.decoded_frames
    holds them all: 18 GB for two minutes of 1080p)."""
    with av.open(str(path)) as c:
        for f in c.decode(c.streams.video[0]):
            yield f.pts, np.concatenate([frame_plane(f, i, 10).ravel() for i in range(3)])


def compare(a: Path, b: Path) -> dict:
    counts = {"frames": 0, "other_frames": 0, "equal": 0, "frame_times": True}
    for fa, fb in zip_longest(frames(a), frames(b)):
        counts["frames"] += fa is not None
        counts["other_frames"] += fb is not None
        if fa is None or fb is None:
            counts["frame_times"] = False
            continue
        counts["equal"] += bool(np.array_equal(fa[1], fb[1]))
        counts["frame_times"] &= fa[0] == fb[0]
    md5 = [[line for line in subprocess.run(["ffmpeg", "-v", "error", "-i", str(p), "-map", "0", "-c", "copy", "-f",
                                             "framemd5", "-"], capture_output=True, text=True, check=True)
            .stdout.splitlines() if not line.startswith("#")] for p in (a, b)]
    return {**counts, "packet_times": packet_times(a) == packet_times(b), "packet_md5": md5[0] == md5[1]}


def report(ref: dict, soak: dict, samples: list, same: dict, journal_after: str) -> bool:
    print(f"uninterrupted: {ref['seconds']:.0f} s, peak {ref['peak']:.0f} MiB")
    print(f"killed {soak['kills']} times, {soak['runs'] - 1} resumes (the same plain command, --journal-after "
          f"{journal_after}), {soak['seconds']:.0f} s in all; journal left after the last run: {soak['journal_left']}")
    print("peak resident memory per minute of the killed runs (MiB): "
          + ", ".join(f"{m}:{mib:.0f}" for m, mib in per_minute(samples)))
    print("peak per run (MiB): " + ", ".join(f"{p:.0f}" for p in soak["peaks"]))
    # flat: the later minutes need no more than the earlier ones, and no run more than an uninterrupted one
    minutes = [mib for _, mib in per_minute(samples)]
    half = max(1, len(minutes) // 2)
    early, late, top = max(minutes[:half]), max(minutes[half:] or minutes), max(soak["peaks"])
    flat = late <= early * 1.10 + 20 and top <= ref["peak"] * 1.10 + 20
    print(f"peak over the first half of the minutes {early:.0f} MiB, over the second half {late:.0f} MiB, of any "
          f"killed run {top:.0f} MiB against {ref['peak']:.0f} MiB uninterrupted: flat {flat}")
    print(f"frames equal: {same['equal']} of {same['frames']} (resumed file has {same['other_frames']}); frame "
          f"times equal: {same['frame_times']}; packet times equal (ffprobe): {same['packet_times']}; packet MD5s "
          f"equal (framemd5): {same['packet_md5']}")
    return (flat and same["equal"] == same["frames"] == same["other_frames"] and same["frame_times"]
            and same["packet_times"] and same["packet_md5"] and not soak["journal_left"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, help="a video to use instead of the generated 1080p clip")
    ap.add_argument("--seconds", type=float, default=120.0, help="length of the generated clip (default 120)")
    ap.add_argument("--journal-after", default="40", help="the convert option (default 40: 10-second pieces)")
    ap.add_argument("--early", type=float, default=0.25, help="share of runs killed during start-up")
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--method", default=None, help="a classical method instead of the default model")
    args = ap.parse_args()
    extra = ["--journal-after", args.journal_after] + (["--method", args.method] if args.method else [])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = args.input or make_clip(tmp / "in.mp4", args.seconds)
        print(f"input {src.name}, {args.seconds:g} s; converting uninterrupted", flush=True)
        ref_samples: list = []
        t0 = time.perf_counter()
        proc, sampler = one_run(command(src, tmp / "reference.mkv", extra), t0, ref_samples)
        _, err = proc.communicate()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"the uninterrupted run failed: {err.strip()}")
        ref = {"seconds": time.perf_counter() - t0, "peak": max(m for _, m in ref_samples)}
        print(f"uninterrupted: {ref['seconds']:.0f} s; now killed and resumed", flush=True)
        samples: list = []
        soak = killed_runs(command(src, tmp / "resumed.mkv", extra), tmp / "resumed.mkv",
                           random.Random(args.seed), args.early, samples)
        same = compare(tmp / "reference.mkv", tmp / "resumed.mkv")
        return 0 if report(ref, soak, samples, same, args.journal_after) else 1


if __name__ == "__main__":
    sys.exit(main())
