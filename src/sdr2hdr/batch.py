"""Folder conversion: every SDR video and image under a folder, mirrored into another, resumable, in parallel.

Functions
- plan(in_dir, out_dir, video_ext) -> [Job]: what to convert, in path order, with each output's path
- run_batch(in_dir, out_dir, options, ...) -> BatchResult: skip finished files, convert the rest (one process,
  --jobs N processes, or tasks on a Ray cluster), carry on past bad files, write the summary
- convert_one(job, options) -> row: one file, never raising for a bad file (its one-line reason is in the row)
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from sdr2hdr.errors import InputError
from sdr2hdr.io.extensions import SDR_IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

#: SDR stills a folder scan takes; EXR and Radiance .hdr are HDR already and are left alone
SDR_STILLS = SDR_IMAGE_EXTENSIONS | {".png"}
SUMMARY_NAME = "sdr2hdr-batch"


@dataclass
class Job:
    """One file of the batch: input and output, absolute and relative to their folders."""

    src: str
    dst: str
    rel_src: str
    rel_dst: str


@dataclass
class BatchResult:
    """Every file's row (input, output, status, reason, frames, seconds, max_cll) and where the summary went."""

    rows: list = field(default_factory=list)
    summary: Path | None = None

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def plan(in_dir: str | os.PathLike, out_dir: str | os.PathLike, video_ext: str = ".mkv") -> list[Job]:
    """The files to convert under in_dir (hidden files and folders skipped, out_dir excluded), in path order.

    Videos become video_ext, images .png; two inputs that would share an output name (a.mp4 and a.mov) both keep
    their source extension in it (a_mp4.mkv, a_mov.mkv), so no file overwrites another whatever the order.
    """
    in_dir, out_dir = Path(in_dir).resolve(), Path(out_dir).resolve()
    found = []
    for path in sorted(in_dir.rglob("*")):
        rel = path.relative_to(in_dir)
        if _is_hidden(rel) or not path.is_file() or path.is_relative_to(out_dir):
            continue
        ext = path.suffix.lower()
        if ext in VIDEO_EXTENSIONS:
            found.append((rel, video_ext))
        elif ext in SDR_STILLS:
            found.append((rel, ".png"))
    taken: dict[Path, int] = {}
    for rel, suffix in found:
        key = rel.with_suffix(suffix)
        taken[key] = taken.get(key, 0) + 1
    jobs = []
    for rel, suffix in found:
        out_rel = rel.with_suffix(suffix)
        if taken[out_rel] > 1:
            out_rel = rel.with_name(f"{rel.stem}_{rel.suffix[1:].lower()}{suffix}")
        jobs.append(Job(str(in_dir / rel), str(out_dir / out_rel), rel.as_posix(), out_rel.as_posix()))
    return jobs


def _row(job: Job, status: str, reason: str = "", report=None, seconds: float | None = None) -> dict:
    return {"input": job.rel_src, "output": job.rel_dst, "status": status, "reason": reason,
            "frames": report.frames if report is not None else None,
            "seconds": round(seconds, 3) if seconds is not None else None,
            "max_cll": report.max_cll if report is not None else None}


def _note(name: str, message: str) -> None:
    """A conversion's note, named by its file and written above any progress bars."""
    if message.startswith("using the shipped model"):
        return  # the same for every file
    from tqdm import tqdm

    tqdm.write(f"{name}: {message.removeprefix('note: ')}")


def convert_one(job: Job | dict, options: dict, threads: int | None = None) -> dict:
    """Convert one file with api.convert; a bad file gives a "failed" row with its one-line reason, no output."""
    from sdr2hdr.api import convert

    job = Job(**job) if isinstance(job, dict) else job
    if threads:  # jobs share the machine: each gets its slice of the cores
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(threads)
        else:  # read by torch when a model loads it; a classical mapping never does
            os.environ["OMP_NUM_THREADS"] = str(threads)
    dst = Path(job.dst)
    t0 = time.perf_counter()
    try:
        report = convert(job.src, dst, notify=partial(_note, job.rel_src), **options)
        return _row(job, "converted", report=report, seconds=time.perf_counter() - t0)
    except InputError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch; its row names the error
        reason = f"{type(exc).__name__}: {exc}"
    return _row(job, "failed", reason=" ".join(reason.split()), seconds=time.perf_counter() - t0)


def write_summary(out_dir: Path, rows: list[dict], fmt: str = "json") -> Path:
    """OUT_DIR/sdr2hdr-batch.json (counts and rows) or .csv (one row per file), written atomically."""
    from sdr2hdr.io.atomic import write_atomic

    path = out_dir / f"{SUMMARY_NAME}.{fmt}"

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            if fmt == "csv":
                w = csv.DictWriter(f, fieldnames=["input", "output", "status", "reason", "frames", "seconds",
                                                  "max_cll"])
                w.writeheader()
                w.writerows(rows)
            else:
                counts = {s: sum(r["status"] == s for r in rows) for s in ("converted", "skipped", "failed")}
                json.dump({**counts, "files": rows}, f, indent=1)

    return write_atomic(path, write)


def _in_process(todo: list[Job], options: dict, jobs: int, address: str | None):
    """Convert in this process, one file after another (the per-file frame bar shows under the file bar)."""
    for job in todo:
        yield job, convert_one(job, options)


def _in_processes(todo: list[Job], options: dict, jobs: int, address: str | None):
    """Convert in `jobs` worker processes, each a whole file at a time with its share of the cores for torch."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # spawn, not fork: a forked child of a process that has started torch's or x265's threads can deadlock
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(convert_one, asdict(job), options, threads): job for job in todo}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except BrokenProcessPool as exc:  # a worker died (out of memory, killed): its file failed
                yield job, _row(job, "failed", f"worker process died: {exc}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_ray(todo: list[Job], options: dict, jobs: int, address: str | None):
    """Convert as Ray tasks: a local cluster of `jobs` CPUs (address "local") or the cluster at address.

    Every worker must reach the input and output paths (one machine, or a shared file system mounted at the same
    path) and have sdr2hdr installed; a task needs one CPU, so a node runs as many files at once as it has CPUs.
    """
    from sdr2hdr.engine.cluster import as_done, ray_session

    with ray_session(address, jobs, object_store_memory=80 * 1024 * 1024) as ray:
        task = ray.remote(num_cpus=1, max_retries=0)(convert_one)
        for job, ref in as_done(ray, ((job, task.remote(asdict(job), options)) for job in todo)):
            try:
                yield job, ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker or its node was lost
                yield job, _row(job, "failed", f"Ray task lost: {' '.join(str(exc).split())[:200]}")


def _checked_plan(in_dir: Path, out_dir: Path, video_ext: str) -> list[Job]:
    """plan(), after refusing folders and names that cannot work (cheap: no file is opened)."""
    if not in_dir.is_dir():
        raise InputError(f"not a folder: {in_dir}")
    if not video_ext.startswith(".") or video_ext.lower() not in (".mkv", ".mp4", ".mov", ".m4v", ".ts"):
        raise InputError(f"--video-ext must be one of .mkv, .mp4, .mov, .m4v, .ts, not {video_ext!r}")
    if not out_dir.parent.is_dir():
        raise InputError(f"the output folder's parent does not exist: {out_dir.parent}")
    jobs = plan(in_dir, out_dir, video_ext)
    if not jobs:
        raise InputError(f"no videos or images under {in_dir} (looked for "
                         f"{', '.join(sorted(VIDEO_EXTENSIONS))}, {', '.join(sorted(SDR_STILLS))})")
    return jobs


def run_batch(in_dir: str | os.PathLike, out_dir: str | os.PathLike, options: dict, *, jobs: int = 1,
              ray: str | None = None, video_ext: str = ".mkv", summary: str = "json", quiet: bool = False,
              say: Callable[[str], None] = print) -> BatchResult:
    """Convert every SDR video and image under in_dir into out_dir (same tree); see the module docstring.

    A file whose output exists is skipped (outputs appear only when complete, so an existing one is finished)
    unless options["overwrite"]; a file that fails gets a row with its reason and the batch goes on.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    all_jobs = _checked_plan(in_dir, out_dir, video_ext)
    from sdr2hdr.api import check_options

    check_options(**options)  # once, before any file: a bad option would otherwise fail every file
    out_dir.mkdir(exist_ok=True)
    from tqdm import tqdm

    rows: dict[str, dict] = {}
    todo = []
    for job in all_jobs:
        if Path(job.dst).exists() and not options.get("overwrite"):
            rows[job.rel_src] = _row(job, "skipped", "output exists")
            say(f"skip {job.rel_src}: {job.rel_dst} already exists")
        else:
            todo.append(job)
    # the driver makes the output folders (workers on other nodes share the file system) and removes those a
    # failure left empty, so no two workers race over one folder
    made = sorted({p for j in todo for p in Path(j.dst).parents if not p.exists()}, key=lambda p: len(p.parts))
    for folder in made:
        folder.mkdir(exist_ok=True)
    parallel = jobs > 1 or ray is not None
    per_file = {**options, "quiet": quiet or parallel}  # frame bars from several workers would interleave
    bar = tqdm(total=len(all_jobs), initial=len(rows), unit="file", desc="files", file=sys.stderr,
               disable=quiet, dynamic_ncols=True, position=0)
    run = _on_ray if ray is not None else _in_processes if jobs > 1 else _in_process
    try:
        for job, row in run(todo, per_file, jobs, ray):
            rows[job.rel_src] = row
            bar.update(1)
            line = (f"converted {row['input']} -> {row['output']} ({row['frames']} frame(s), MaxCLL "
                    f"{row['max_cll']} cd/m2, {row['seconds']:.1f} s)" if row["status"] == "converted"
                    else f"failed {row['input']}: {row['reason']}")
            bar.write(line, file=sys.stdout)
    finally:
        bar.close()
        for folder in reversed(made):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        result = BatchResult([rows[j.rel_src] for j in all_jobs if j.rel_src in rows])
        result.summary = write_summary(out_dir, result.rows, summary)
    return result
