"""Folder conversion: every SDR video and image under a folder, mirrored into another, resumable, in parallel.

Functions
- plan(in_dir, out_dir, video_ext) -> [Job]: what to convert, in path order, with each output's path
- run_batch(in_dir, out_dir, options, ...) -> BatchResult: skip finished files, convert the rest (one process,
  --jobs N processes, or tasks on a Ray cluster), carry on past bad files, write the summary
- convert_one(job, options) -> row: one file, never raising for a bad file (its one-line reason is in the row)
"""

from __future__ import annotations

import csv
import glob
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
RAY_RETRIES = 3  # attempts after a lost worker, per file


@dataclass
class Job:
    """One file of the batch: input and output, absolute and relative to their folders."""

    src: str
    dst: str
    rel_src: str
    rel_dst: str
    broken: bool = False  # a symbolic link whose target does not exist: reported as failed, never converted


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
        dangling = path.is_symlink() and not path.exists()
        if _is_hidden(rel) or not (path.is_file() or dangling) or path.is_relative_to(out_dir):
            continue
        ext = path.suffix.lower()
        if ext in VIDEO_EXTENSIONS:
            found.append((rel, video_ext, dangling))
        elif ext in SDR_STILLS:
            found.append((rel, ".png", dangling))
    taken: dict[Path, int] = {}
    for rel, suffix, _ in found:
        key = rel.with_suffix(suffix)
        taken[key] = taken.get(key, 0) + 1
    jobs = []
    for rel, suffix, dangling in found:
        out_rel = rel.with_suffix(suffix)
        if taken[out_rel] > 1:
            out_rel = rel.with_name(f"{rel.stem}_{rel.suffix[1:].lower()}{suffix}")
        jobs.append(Job(str(in_dir / rel), str(out_dir / out_rel), rel.as_posix(), out_rel.as_posix(), dangling))
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
        # a worker (or its node) lost mid-file: Ray runs the file again (an output appears only when whole)
        task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(convert_one)
        for job, ref in as_done(ray, ((job, task.remote(asdict(job), options)) for job in todo)):
            try:
                yield job, ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker or its node was lost
                yield job, _row(job, "failed", f"Ray task lost: {' '.join(str(exc).split())[:200]}")


OPTIONS_RECORD = ".sdr2hdr-batch-options.json"  # hidden: a rescan of OUT_DIR as IN_DIR leaves it alone
_NOT_RECORDED = {"overwrite", "quiet"}  # they change how a run goes, not what a file holds


def _recorded(options: dict) -> dict:
    return {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in sorted(options.items())
            if k not in _NOT_RECORDED}


def _made_with(out_dir: Path) -> dict:
    """Each output's conversion options, as recorded by the batches that made it (empty when none was)."""
    try:
        return json.loads((out_dir / OPTIONS_RECORD).read_text())
    except (OSError, ValueError):
        return {}


def _save_made_with(out_dir: Path, made_with: dict) -> None:
    from sdr2hdr.io.atomic import write_text_atomic

    write_text_atomic(out_dir / OPTIONS_RECORD, json.dumps(made_with, indent=1))


def _other_options(recorded: dict | None, options: dict) -> str:
    """The options in which a recorded output differs from this run's ("" when it does not, or nothing is known)."""
    if recorded is None:
        return ""
    now = _recorded(options)
    keys = sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))
    return ", ".join(f"{k} {recorded.get(k)} -> {now.get(k)}" for k in keys)


def _remove_stale_temporaries(job: Job) -> None:
    """Temporary files a lost worker left beside this output (io.atomic's `.STEM.XXXXXXXX.partEXT`): its retry
    or its failure row is in, so nothing of this batch writes them any more."""
    dst = Path(job.dst)
    for tmp in dst.parent.glob(f".{glob.escape(dst.stem)}.????????.part{glob.escape(dst.suffix)}"):
        tmp.unlink(missing_ok=True)


def _sort_out(all_jobs: list[Job], options: dict, made_with: dict,
              say: Callable[[str], None]) -> tuple[dict[str, dict], list[Job]]:
    """The rows of the files not to convert (broken links; outputs that exist, unless overwrite) and the rest."""
    rows: dict[str, dict] = {}
    todo = []
    for job in all_jobs:
        if job.broken:
            target = os.readlink(job.src)
            rows[job.rel_src] = _row(job, "failed", f"broken symbolic link: its target {target} does not exist")
        elif Path(job.dst).exists() and not options.get("overwrite"):
            other = _other_options(made_with.get(job.rel_dst), options)
            rows[job.rel_src] = _row(job, "skipped", "output exists" + (f", made with other options ({other})"
                                                                        if other else ""))
            say(f"skip {job.rel_src}: {job.rel_dst} already exists" + (
                f", but was made with other options ({other}); --overwrite converts it again" if other else ""))
        else:
            todo.append(job)
    return rows, todo


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

    made_with = _made_with(out_dir)
    rows, todo = _sort_out(all_jobs, options, made_with, say)
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
            _remove_stale_temporaries(job)
            if row["status"] == "converted":
                made_with[job.rel_dst] = _recorded(options)
                _save_made_with(out_dir, made_with)
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
