"""The resume check at 1080p: a conversion killed with SIGKILL at random points 5 times, resumed each time, must
give a file whose decoded frames and timestamps equal an uninterrupted run's.

Makes a 1080p H.264 clip (the bundled sample scaled up, a keyframe every half second, B-frames, a 440 Hz AAC track)
unless --input is given, converts it once without interruption and once killed and resumed (`--resume`, the
default model unless --method), and prints the piece count, the kills, the wall times and the comparison.
Not a test (minutes of CPU): tests/engine/test_resume.py runs the same at 320x180. Run from tests/ (it uses
clip_tools there): `cd tests && python -m stress.check_resume [--kills 5] [--method bt2446c]`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import av
import numpy as np
from clip_tools import decoded_frames, packet_times

from sdr2hdr.engine.segments import plan_segments


def make_clip(path: Path, seconds: float, fps: int = 24) -> Path:
    sample = Path(str(resources.files("sdr2hdr") / "assets" / "sample_sdr.mp4"))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(sample), "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-r", str(fps),
                    "-vf", "scale=1920:1080:flags=bicubic", "-c:v", "libx264", "-crf", "16", "-g", str(fps // 2),
                    "-keyint_min", str(fps // 2), "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p",
                    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-c:a", "aac",
                    "-map", "0:v", "-map", "1:a", str(path)], check=True)
    return path


def command(src: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out), "--quiet", *extra]


def pieces(parts: Path) -> int:
    return len(list(parts.glob("piece-*.json"))) if parts.exists() else 0


def last_piece_seconds(parts: Path) -> float:
    records = sorted(parts.glob("piece-*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(records[-1].read_text())["seconds"] if records else 1.0


def killed_run(src: Path, out: Path, extra: list[str], kills: int, seed: int) -> tuple[int, float]:
    """SIGKILL `kills` times, each once the run has finished a new piece, at a random moment within the next one
    (a random fraction of the last piece's time); then resume to the end."""
    rng = random.Random(seed)
    parts = out.parent / f".{out.name}.parts"
    done, t0 = 0, time.perf_counter()
    while done < kills:
        before = pieces(parts)
        proc = subprocess.Popen(command(src, out, [*extra, "--resume"]), stderr=subprocess.DEVNULL)
        started = time.perf_counter()
        while proc.poll() is None and pieces(parts) <= before:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.9) * last_piece_seconds(parts))
        if proc.poll() is not None or out.exists():
            break
        proc.kill()
        proc.wait()
        done += 1
        print(f"  kill {done} after {time.perf_counter() - started:.1f} s: {pieces(parts)} piece(s) finished, "
              f"output present: {out.exists()}", flush=True)
    proc.wait()
    if not out.exists():
        subprocess.run(command(src, out, [*extra, "--resume"]), check=True)
    return done, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", type=Path, help="a video to use instead of the generated 1080p clip")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--segment-seconds", default="0.5")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1080)
    ap.add_argument("--method", default=None, help="a classical method instead of the default model")
    ap.add_argument("--reference", type=Path, help="an uninterrupted run of --input made before, instead of a new one")
    args = ap.parse_args()
    extra = ["--segment-seconds", args.segment_seconds] + (["--method", args.method] if args.method else [])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = args.input or make_clip(tmp / "in.mp4", args.seconds)
        plan = plan_segments(src, float(args.segment_seconds))
        print(f"{plan.frames} frames in {len(plan.segments)} pieces of "
              f"{', '.join(str(s.frames) for s in plan.segments)} frames", flush=True)
        reference, t_ref = args.reference, float("nan")
        if reference is None:
            t0 = time.perf_counter()
            reference = tmp / "reference.mkv"
            subprocess.run(command(src, reference, extra), check=True)
            t_ref = time.perf_counter() - t0
            print(f"uninterrupted: {t_ref:.1f} s", flush=True)
        kills, t_kill = killed_run(src, tmp / "resumed.mkv", extra, args.kills, args.seed)
        a, b = decoded_frames(reference), decoded_frames(tmp / "resumed.mkv")
        equal = sum(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))
        same_pts = [p for p, _ in a] == [p for p, _ in b]
        same_packets = packet_times(reference) == packet_times(tmp / "resumed.mkv")
        with av.open(str(src)) as c:
            size = f"{c.streams.video[0].width}x{c.streams.video[0].height}"
        print(f"input {size}, {len(a)} frames; killed {kills} times, resumed each time: {t_kill:.1f} s in all "
              f"(uninterrupted {t_ref:.1f} s)")
        print(f"frames equal: {equal} of {len(a)} (resumed file has {len(b)}); frame timestamps equal: {same_pts}; "
              f"every stream's packet timestamps equal (ffprobe): {same_packets}")
        return 0 if equal == len(a) == len(b) and same_pts and same_packets and kills == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
