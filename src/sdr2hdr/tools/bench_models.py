"""Speed of every registered model on a GPU or the CPU: ms per frame per size and precision, end-to-end frames/s.

Usage:
    python -m sdr2hdr.tools.bench_models --out results/gpu_bench.md [--precision fp16|bf16|fp32 ...] [--compile]
                                         [--models PATTERN] [--batch 4] [--batch-4k 2] [--iters 10] [--budget 420]
    python -m sdr2hdr.tools.bench_models --out cpu.md --device cpu --size 960x540 --precision fp32 bf16
    python -m sdr2hdr.tools.bench_models --dry-run --out table.md  # CPU, 64x64, one iteration: what the tests run

Sizes are output sizes: a super-resolution model at "1080p" takes a 960x540 (x2) or 480x270 (x4) frame; a
multi-frame model takes its T-frame window per output frame. Each model runs with autocast (fp16 by default),
channels_last 2-D convolutions, `batch` frames (or windows) per call, cudnn.benchmark, optionally torch.compile;
warmed up, then timed with CUDA events for `iters` calls or about 4 s, whichever ends first. A call that runs out of
memory is retried with half the batch. Several --precision values give a column pair per size and precision
(fp32 against bf16 autocast on the CPU, say); --size replaces the default 1080p and 4K. The table also gives each
model's parameter count.

End to end (1080p): 8-bit frames as a decoder leaves them (H, W, 3 uint8, in pinned host memory) go to the GPU on a
copy stream while the previous batch computes (double-buffered, ordered by events), are converted to float R'G'B' on
the GPU, restored, clamped, quantised to 10-bit codes and copied back into pinned host memory without blocking;
decoding and encoding are not included. Multi-frame models keep the last T-1 frames on the GPU, so each frame
crosses once.

The whole run stops starting new measurements after --budget seconds (default 420) and marks what it skipped, so
it fits in 8 minutes on one H100-class GPU; with --compile each model compiles per shape (tens of seconds each):
use --models to pick a few. --dry-run exercises every code path that exists on the CPU (no streams or pinned
memory) on a 64x64 frame.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from sdr2hdr.errors import InputError
from sdr2hdr.models import count_params, create, list_models
from sdr2hdr.tools import exit_status

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}
DRY_SIZES = {"64x64": (64, 64)}
TIME_CAP_S = 4.0  # per measurement, beyond the warm-up


@dataclass
class Result:
    name: str
    scale: int
    frames: int
    params: int
    ms: dict[str, float | None] = field(default_factory=dict)
    batch: dict[str, int] = field(default_factory=dict)
    e2e_fps: float | None = None
    notes: list[str] = field(default_factory=list)


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype={"fp16": torch.float16, "bf16": torch.bfloat16}[precision])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _prepare(name: str, device: torch.device, compile_: bool) -> tuple[nn.Module, nn.Module]:
    """(module to run, the model itself): eval, on the device, channels_last 2-D convolutions, maybe compiled."""
    model = create(name).eval().to(device)
    for module in model.modules():
        # only 2-D convolutions have a channels_last layout (DIDNet's Conv3d stays as it is)
        if isinstance(module, nn.Conv2d):
            module.to(memory_format=torch.channels_last)
    run = torch.compile(model) if compile_ else model
    return run, model


def _input(model: nn.Module, batch: int, width: int, height: int, device: torch.device) -> Tensor:
    s, t = int(model.scale), int(model.frames)
    w, h = max(1, width // s), max(1, height // s)
    if t == 1:
        return torch.rand(batch, 3, h, w, device=device).contiguous(memory_format=torch.channels_last)
    return torch.rand(batch, t, 3, h, w, device=device)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def time_model(run: nn.Module, model: nn.Module, width: int, height: int, batch: int, device: torch.device,
               precision: str, iters: int, warmup: int) -> tuple[float, int]:
    """Milliseconds per output frame and the batch that fitted; halves the batch on out-of-memory."""
    while True:
        try:
            x = _input(model, batch, width, height, device)
            with torch.inference_mode(), _autocast(device, precision):
                for _ in range(warmup):
                    run(x)
                _sync(device)
                done, elapsed = 0, 0.0
                while done < iters and elapsed < TIME_CAP_S:
                    if device.type == "cuda":
                        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        start.record()
                        run(x)
                        end.record()
                        end.synchronize()
                        elapsed += start.elapsed_time(end) / 1000
                    else:
                        t0 = time.perf_counter()
                        run(x)
                        elapsed += time.perf_counter() - t0
                    done += 1
            return 1000 * elapsed / (done * batch), batch
        except (torch.OutOfMemoryError, RuntimeError) as exc:
            if not _is_oom(exc) or batch == 1:
                raise
            batch //= 2
            x = None
            if device.type == "cuda":
                torch.cuda.empty_cache()


def end_to_end(run: nn.Module, model: nn.Module, width: int, height: int, batch: int, n_frames: int,
               device: torch.device, precision: str) -> float:
    """Frames/s from 8-bit host frames to 10-bit host codes; copies overlap compute on CUDA (module docstring)."""
    s, t = int(model.scale), int(model.frames)
    w, h = max(1, width // s), max(1, height // s)
    cuda = device.type == "cuda"
    n_batches = max(1, -(-n_frames // batch))
    # what a decoder hands over: uint8 H x W x 3; pinned, so the copies are asynchronous DMA
    host_in = [torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8, pin_memory=cuda) for _ in range(2)]
    host_out = [torch.empty(batch, 3, h * s, w * s, dtype=torch.int16, pin_memory=cuda) for _ in range(2)]
    dev_in = [torch.empty(batch, h, w, 3, dtype=torch.uint8, device=device) for _ in range(2)]
    copy_stream = torch.cuda.Stream(device) if cuda else None
    ev_in = [torch.cuda.Event() for _ in range(2)] if cuda else None  # upload of buffer i done
    ev_used = [torch.cuda.Event() for _ in range(2)] if cuda else None  # compute has read buffer i
    ev_out = [torch.cuda.Event() for _ in range(2)] if cuda else None  # download into host_out[i] done
    tail: Tensor | None = None  # the previous T-1 frames of a multi-frame model, already on the device

    def upload(i: int) -> None:
        if cuda:
            copy_stream.wait_event(ev_used[i])  # the batch that last used this buffer has been converted
            with torch.cuda.stream(copy_stream):
                dev_in[i].copy_(host_in[i], non_blocking=True)
                ev_in[i].record(copy_stream)
        else:
            dev_in[i].copy_(host_in[i])

    _sync(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        upload(0)
        for k in range(n_batches):
            cur = k % 2
            if k + 1 < n_batches:
                upload(1 - cur)  # the next batch crosses while this one computes
            if cuda:
                torch.cuda.current_stream(device).wait_event(ev_in[cur])
            # NHWC uint8 permuted to NCHW is already the channels_last layout; .float() keeps it
            frames = dev_in[cur].permute(0, 3, 1, 2).float().div_(255.0)
            if t > 1:
                if tail is None:
                    tail = frames[:1].expand(t - 1, -1, -1, -1)  # the clip's first frame stands in before it
                ring = torch.cat((tail, frames), dim=0)
                x = torch.stack([ring[i:i + t] for i in range(batch)])
                tail = ring[-(t - 1):]
            else:
                x = frames
            if cuda:
                ev_used[cur].record()
            with _autocast(device, precision):
                y = run(x)
            codes = y.float().clamp_(0.0, 1.0).mul_(1023.0).round_().to(torch.int16)
            if cuda:
                ev_out[cur].synchronize()  # the host has the batch that last used this output buffer
                host_out[cur].copy_(codes, non_blocking=True)
                ev_out[cur].record()
            else:
                host_out[cur].copy_(codes)
    _sync(device)
    return n_batches * batch / (time.perf_counter() - t0)


@dataclass(frozen=True)
class Run:
    """One measurement of every model: an output size at a precision, under one column label."""

    label: str
    width: int
    height: int
    precision: str
    batch: int


def table(results: list[Result], runs: list[Run], header: list[str]) -> str:
    cols = []
    for run in runs:
        cols += [f"ms/frame {run.label}", f"fps {run.label}"]
    lines = header + ["", "| model | scale | T | params | " + " | ".join(cols) + " | end-to-end fps | batch | notes |",
                      "|---|---:|---:|---:|" + "---:|" * len(cols) + "---:|---|---|"]
    for r in results:
        cells = []
        for run in runs:
            ms = r.ms.get(run.label)
            cells += ["-", "-"] if ms is None else [f"{ms:.2f}", f"{1000 / ms:.1f}"]
        e2e = "-" if r.e2e_fps is None else f"{r.e2e_fps:.1f}"
        batch = "/".join(str(r.batch[run.label]) for run in runs if run.label in r.batch) or "-"
        lines.append(f"| {r.name} | x{r.scale} | {r.frames} | {r.params:,} | " + " | ".join(cells) +
                     f" | {e2e} | {batch} | {'; '.join(r.notes)} |")
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="markdown table to write")
    ap.add_argument("--models", default=None, help="shell pattern of model names (default: every model)")
    ap.add_argument("--precision", choices=("fp16", "bf16", "fp32"), nargs="+", default=None,
                    help="autocast precision, one or more (default fp16 on CUDA, fp32 on the CPU)")
    ap.add_argument("--size", nargs="+", default=None, metavar="WxH",
                    help="output sizes instead of 1080p and 4K (the first is also the end-to-end size)")
    ap.add_argument("--compile", action="store_true", help="torch.compile each model (slow to start)")
    ap.add_argument("--batch", type=int, default=4, help="frames per call at 1080p and end to end")
    ap.add_argument("--batch-4k", type=int, default=2, help="frames per call at 4K")
    ap.add_argument("--iters", type=int, default=10, help="timed calls per measurement (at most)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--e2e-frames", type=int, default=48, help="frames of the end-to-end run")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds after which no new measurement starts")
    ap.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--dry-run", action="store_true", help="CPU, 64x64, one iteration, every model")
    return ap.parse_args(argv)


def _sizes(args: argparse.Namespace) -> dict[str, tuple[tuple[int, int], int]]:
    """Column label -> ((width, height), frames per call)."""
    if args.dry_run:
        return {label: (wh, 1) for label, wh in DRY_SIZES.items()}
    if args.size:
        out = {}
        for text in args.size:
            w, _, h = text.lower().partition("x")
            if not (w.isdigit() and h.isdigit()):
                raise InputError(f"--size {text}: expected WIDTHxHEIGHT, e.g. 960x540")
            out[text] = ((int(w), int(h)), args.batch)
        return out
    return {"1080p": (SIZES["1080p"], args.batch), "4K": (SIZES["4K"], args.batch_4k)}


def _setup(args: argparse.Namespace) -> tuple[torch.device, list[Run], str]:
    """(device, the runs, device name); a dry run shrinks everything to one quick pass."""
    if args.dry_run:
        device = torch.device(args.device or "cpu")
        args.iters, args.warmup, args.e2e_frames, args.batch = 1, 0, 2, 1
    else:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if device.type != "cuda":
            print("no CUDA device: timing on the CPU (use --dry-run for a quick check)", file=sys.stderr)
    precisions = args.precision or ["fp16" if device.type == "cuda" else "fp32"]
    runs = [Run(label if len(precisions) == 1 else f"{label} {p}", w, h, p, batch)
            for label, ((w, h), batch) in _sizes(args).items() for p in precisions]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine() or "CPU"
    return device, runs, name


def _measure(r: Result, args: argparse.Namespace, device: torch.device, runs: list[Run], start: float) -> None:
    """Time one model in every run and end to end into r, within the time budget; a failure becomes a note."""
    first = runs[0]  # end to end at the first size and precision (1080p)
    run = model = None
    try:
        t0 = time.perf_counter()
        run, model = _prepare(r.name, device, args.compile)
        for m in runs:
            if time.perf_counter() - start > args.budget:
                r.notes.append(f"{m.label} skipped (time budget)")
                continue
            try:
                r.ms[m.label], r.batch[m.label] = time_model(run, model, m.width, m.height, m.batch, device,
                                                             m.precision, args.iters, args.warmup)
            except (torch.OutOfMemoryError, RuntimeError) as exc:
                if not _is_oom(exc):
                    raise
                r.notes.append(f"{m.label}: out of memory at batch 1")
        if time.perf_counter() - start > args.budget:
            r.notes.append("end to end skipped (time budget)")
        else:
            r.e2e_fps = end_to_end(run, model, first.width, first.height, r.batch.get(first.label, 1),
                                   args.e2e_frames, device, first.precision)
        if args.compile:
            r.notes.append(f"compiled, {time.perf_counter() - t0:.0f} s with compilation")
    except Exception as exc:  # noqa: BLE001 - one model's failure must not lose the others' figures
        r.notes.append(f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    finally:
        run = model = None
        if device.type == "cuda":
            torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device, runs, name = _setup(args)
    start = time.perf_counter()
    results: list[Result] = []
    for model_name in list_models(args.models):
        probe = create(model_name)
        r = Result(model_name, int(probe.scale), int(probe.frames), count_params(probe))
        del probe
        results.append(r)
        if time.perf_counter() - start > args.budget:
            r.notes.append("skipped (time budget)")
            continue
        _measure(r, args, device, runs, start)
        shown = ", ".join(f"{k} {v:.2f} ms" for k, v in r.ms.items() if v is not None)
        print(f"{model_name:20s} {shown}  e2e {r.e2e_fps or 0:.1f} fps  {'; '.join(r.notes)}", flush=True)

    cuda = device.type == "cuda"
    precisions = list(dict.fromkeys(m.precision for m in runs))
    sizes = dict.fromkeys(f"{m.label.split()[0]} = {m.width}x{m.height}" for m in runs)
    header = [
        f"{'GPU' if cuda else 'CPU'} benchmark: {name}, torch {torch.__version__}, "
        + " and ".join(f"{p} autocast" if p != "fp32" else "fp32" for p in precisions) + ", channels_last"
        + (", torch.compile" if args.compile else "") + (" (dry run: code paths, not speed)" if args.dry_run else "")
        + ("" if cuda else f", {torch.get_num_threads()} CPU threads"),
        "",
        f"Output sizes {', '.join(sizes)} (super-resolution models take "
        "1/scale of them); batch = frames (windows) per call; end to end at "
        f"{runs[0].label}: 8-bit frames -> model -> 10-bit codes"
        + (" with pinned host memory and copies overlapped with compute on a second stream" if cuda else "")
        + f", decode and encode excluded; {time.perf_counter() - start:.0f} s in all.",
    ]
    text = table(results, runs, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print("\n" + text)
    return 1 if any(n.startswith("failed") for r in results for n in r.notes) else 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "bench_models"))
