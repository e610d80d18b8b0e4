"""Peak resident memory of `sdr2hdr convert` at 4K (or any size), per quality tier and for a heavy paper model.

    python -m sdr2hdr.tools.bench_memory [--width 3840 --height 2160] [--frames 3] [--models kpnet] [--out FILE]

Each conversion runs in its own process (so one's memory cannot hide another's) on a short H.264 clip made from
the bundled sample scaled to the size; the peak is the child's ru_maxrss. Models without shipped weights run
with a fixed random initialisation (memory does not depend on the weights). Writes a markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sdr2hdr.tools import exit_status
from sdr2hdr.tools.bench_convert import sample_1080p

_CHILD = ("import resource, sys\nfrom sdr2hdr.cli import main\nrc = main(sys.argv[1:])\n"
          "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(rc)")


def run(args: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit status) of one convert in a child process that reports its own peak."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, "convert", *args, "--quiet", "--overwrite"],
                          capture_output=True, text=True)
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KB")]
    if proc.returncode:
        print(proc.stderr.strip()[-400:], file=sys.stderr)
    return (peak[0] / 1024.0 if peak else float("nan")), time.perf_counter() - t, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=3840)
    ap.add_argument("--height", type=int, default=2160)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--models", nargs="*", default=["kpnet"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = sample_1080p(Path(tmp) / "in.mp4", args.frames, args.width, args.height)
        cases = [("classical bt2446c (code table)", ["--method", "bt2446c"]),
                 ("default, --quality fast", ["--quality", "fast"]),
                 ("default, --quality balanced", ["--quality", "balanced"]),
                 ("default, --quality best", ["--quality", "best"])]
        for name in args.models:
            import torch

            from sdr2hdr.models import create
            from sdr2hdr.models.weights import save_weights, shipped_weights

            w = shipped_weights(name)
            if w is None:
                torch.manual_seed(0)
                w = save_weights(create(name), Path(tmp) / f"{name}.safetensors")
            cases.append((f"{name} (tile 512)", ["--model", name, "--weights", str(w), "--max-frames", "1"]))
        for label, extra in cases:
            mb, secs, rc = run([str(src), str(Path(tmp) / "out.mkv"), *extra])
            rows.append((label, mb, secs, rc))
            print(f"{label}: peak {mb:.0f} MB, {secs:.1f} s, exit {rc}", flush=True)
    made_by = " ".join(["python -m sdr2hdr.tools.bench_memory", *sys.argv[1:]])
    table = [f"Peak resident memory, {args.width}x{args.height}, {args.frames} frames (heavy models: 1 frame)", "",
             f"Made by `{made_by}`.", "",
             "| conversion | peak RSS (MB) | seconds | exit |", "|---|---:|---:|---:|"]
    table += [f"| {label} | {mb:.0f} | {secs:.1f} | {rc} |" for label, mb, secs, rc in rows]
    text = "\n".join(table) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "bench_memory"))
