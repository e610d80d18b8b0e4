"""Milliseconds per 540p frame for every registered model: fp32, and bf16 autocast with channels_last.

Usage:
    python scripts/bench_models.py [--models PATTERN] [--size 960x540] [--reps 2] [--threads N] [--device cpu]

The input is one 960x540 SDR frame (multi-frame models get their T frames, and the time is per restored frame);
super-resolution models take it as their low-resolution input, so deep_sr_itm_x4 writes a 3840x2160 frame.
Each configuration is warmed up on a small input, then timed `reps` times on the full frame; the table shows the
fastest run (the least disturbed by other processes). A run slower than --budget seconds ends that
configuration's repetitions early. No target yet: this is the baseline the speed work will be measured against.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from sdr2hdr.models import count_params, create, list_models


def _input(model: torch.nn.Module, width: int, height: int, device: torch.device, channels_last: bool) -> torch.Tensor:
    frames = getattr(model, "frames", 1)
    shape = (1, 3, height, width) if frames == 1 else (1, frames, 3, height, width)
    x = torch.rand(shape, device=device)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _channels_last(model: torch.nn.Module) -> None:
    # Module.to(memory_format=...) refuses 5-D weights (DIDNet's Conv3d); convert the 4-D ones only
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_model(
    name: str, width: int, height: int, reps: int, device: torch.device, bf16: bool, budget: float
) -> float:
    """Fastest of `reps` forward passes, in milliseconds."""
    model = create(name).eval().to(device)
    if bf16:
        _channels_last(model)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    best = float("inf")
    with torch.inference_mode(), autocast:
        model(_input(model, 64, 64, device, bf16))  # warm-up: kernel selection, lazy inits
        x = _input(model, width, height, device, bf16)
        for _ in range(reps):
            _sync(device)
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            elapsed = time.perf_counter() - t0
            best = min(best, elapsed)
            if elapsed > budget:
                break
    return best * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help="shell pattern over registered names")
    parser.add_argument("--size", default="960x540", help="input WIDTHxHEIGHT")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds; a slower run ends the repetitions")
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.lower().split("x"))
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, input {width}x{height}")

    header = (
        f"{'model':<16}{'scale':>6}{'T':>3}{'params':>12}{'out':>11}{'fp32 ms':>11}{'bf16+CL ms':>12}{'speedup':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in list_models(args.models):
        model = create(name)
        scale, frames = model.scale, model.frames
        out = f"{width * scale}x{height * scale}"
        row = f"{name:<16}{'x' + str(scale):>6}{frames:>3}{count_params(model):>12,}{out:>11}"
        del model
        try:
            fp32 = time_model(name, width, height, args.reps, device, False, args.budget)
            bf16 = time_model(name, width, height, args.reps, device, True, args.budget)
            print(f"{row}{fp32:>11.1f}{bf16:>12.1f}{fp32 / bf16:>8.2f}x", flush=True)
        except (RuntimeError, MemoryError) as err:  # e.g. out of memory at x4
            print(f"{row}  failed: {str(err).splitlines()[0][:60]}", flush=True)


if __name__ == "__main__":
    main()
