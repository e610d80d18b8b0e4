"""Speed of `sdr2hdr convert` on a 1080p clip: frames/s end to end, with decode / convert / encode split.

Makes a 1080p H.264 SDR clip unless --input is given (--content sample: the bundled sample upscaled to 1080p, real
picture content; gradient: ffmpeg's moving colour gradients with a 440 Hz tone), converts it with a classical
mapping (the code-table fast path, or per pixel with --exact) and x265 preset `fast`, and prints the figures; the
convert stage includes building the table (1-2 s). `--compare` runs the default model's tiers (or --tiers) on the same
clip right after the classical mapping and prints each one's frames/s and its ratio to the classical table path.
Not a test: a measurement.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from sdr2hdr.engine.convert import ConvertReport, classical_mapper, convert_video, model_mapper
from sdr2hdr.tools import exit_status

# 8-bit H.264 with BT.709 tags, as a user's file would be
_H264 = ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709",
         "-colorspace", "bt709"]


def sample_1080p(path: Path, frames: int, width: int, height: int) -> Path:
    """The bundled sample (960x540 GoldenGate) scaled to width x height, looped to `frames`, H.264 CRF 16."""
    sample = Path(str(resources.files("sdr2hdr") / "assets" / "sample_sdr.mp4"))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(sample), "-frames:v", str(frames),
                    "-vf", f"scale={width}:{height}:flags=bicubic", *_H264, "-an", str(path)], check=True)
    return path


def gradient_clip(path: Path, frames: int, width: int, height: int, fps: int = 24) -> Path:
    """ffmpeg's moving colour gradients (smooth ramps, the banding case) with a 440 Hz AAC tone, H.264 CRF 16."""
    source = f"gradients=s={width}x{height}:r={fps}:speed=0.02"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source,
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-frames:v", str(frames),
                    *_H264, "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def show(label: str, report: ConvertReport) -> None:
    s = report.seconds
    print(f"{label}: {report.fps:.2f} frames/s end to end ({report.frames} frames in {s['total']:.1f} s); "
          f"stages decode {1000 * s['decode'] / report.frames:.1f}, convert {1000 * s['convert'] / report.frames:.1f}"
          f", encode {1000 * s['encode'] / report.frames:.1f} ms/frame "
          f"(sum {sum(s[k] for k in ('decode', 'convert', 'encode')):.1f} s"
          f" vs {s['total']:.1f} s wall: the stages overlap){''.join('; ' + n for n in report.notes)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", type=Path, help="an SDR video to use instead of the generated one")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--method", default="bt2446c")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--x265-params", default="", help="extra x265 parameters for both paths, e.g. frame-threads=2")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--exact", action="store_true", help="per-pixel float mapping instead of the code table")
    ap.add_argument("--content", choices=("sample", "gradient"), default="sample")
    ap.add_argument("--compare", action="store_true", help="also time the default model's tiers on the same clip")
    ap.add_argument("--tiers", nargs="+", default=["fast", "balanced"], choices=("fast", "balanced", "best"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = args.input
        if src is None:
            t = time.perf_counter()
            if args.content == "sample":
                src = sample_1080p(Path(tmp) / "in.mp4", args.frames, args.width, args.height)
            else:
                src = gradient_clip(Path(tmp) / "in.mp4", args.frames, args.width, args.height)
            print(f"made a {args.width}x{args.height} H.264 clip of {args.frames} frames in "
                  f"{time.perf_counter() - t:.1f} s")
        report = convert_video(src, Path(tmp) / "out.mkv", classical_mapper(args.method), preset=args.preset,
                               progress=True, notify=lambda m: None, lut=False if args.exact else None,
                               x265_params=args.x265_params)
        if args.compare:
            from sdr2hdr.models.weights import default_model

            name = default_model()
            show(f"classical {args.method} (code table)", report)
            for tier in args.tiers:
                model = f"{name}_local" if tier == "best" else name
                r = convert_video(src, Path(tmp) / f"{tier}.mkv", model_mapper(model, device="cpu"),
                                  preset=args.preset, progress=True, notify=lambda m: None,
                                  lut=False if tier == "balanced" else None, x265_params=args.x265_params)
                show(f"default {model} tier {tier}", r)
                print(f"  ratio to the classical table path: {r.fps / report.fps:.2f}")
            return 0
    s = report.seconds
    print(f"\n{report.frames} frames {report.width}x{report.height}, method {args.method} "
          f"({'per-pixel float' if args.exact else 'code table'}), x265 preset {args.preset}")
    print(f"end to end: {report.fps:.2f} frames/s ({s['total']:.1f} s)")
    print("stage seconds (decode and convert run in a worker thread beside the encoder, so they overlap):")
    for k in ("decode", "convert", "encode"):
        print(f"  {k:8s} {s[k]:7.2f} s  {1000 * s[k] / max(report.frames, 1):7.1f} ms/frame")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "bench_convert"))
