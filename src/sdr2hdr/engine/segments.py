"""Long films in segments: cut at the input's keyframes, each converted to its own piece, joined by stream copy.

`sdr2hdr convert IN OUT --resume` (or `--segment-seconds S`) plans the input into segments that start at keyframes
of the input, about S seconds each, converts each to a piece (HEVC only, starting with an IDR picture, under
`.OUT.parts/`), and joins the pieces with the input's audio and subtitle packets by stream copy into OUT. A piece
is finished atomically (temporary name, then rename, then its record `piece-NNNNN.json`), so after any
interruption, SIGKILL and power loss included, the same command continues from the last finished piece.
`--ray local|ADDRESS` converts the pieces as Ray tasks on a cluster's workers and joins them on the driver.

Why the pieces join into the frames of one run: each frame is decoded from the input exactly as in a one-piece
run (a segment decodes from its own keyframe); classical mappings and single-frame models are stateless; the
default model's tracker (engine.adaptive.PriorTracker) starts each segment from the state the previous segment
ended with (sequential runs: stored in the previous piece's record; Ray: a driver pass of the tracker alone over
the film, which is what a one-piece run would compute). MaxCLL/MaxFALL are the maxima over the pieces, written
into the joined file's content-light-level SEIs (pieces keep the writer's sentinel for that).

Functions
- plan_segments(src, seconds) -> Plan: keyframe-aligned segments from a packet scan (no decoding)
- convert_segmented(src, dst, mapper, ...) -> ConvertReport: plan, convert missing pieces (here or on Ray), join
- locked(dst): one segmented run per output at a time (a second is refused in one line)
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import heapq
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from sdr2hdr.color import even_size
from sdr2hdr.engine.cluster import as_done, ray_session
from sdr2hdr.engine.paths import check_convert_paths
from sdr2hdr.engine.report import ConvertReport, Progress
from sdr2hdr.engine.request import Settings
from sdr2hdr.engine.stream import StreamMapper
from sdr2hdr.engine.video import convert_span, fast_path, stateful_part
from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import WriteError, unwritable, write_atomic
from sdr2hdr.io.display_matrix import read_display_matrix, set_display_matrix
from sdr2hdr.io.hdr10 import MasteringDisplay, sei_safe_light_level
from sdr2hdr.io.media import check_sdr, probe
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.io.writer import copy_stream, write_light_level

__all__ = ["Segment", "Plan", "Settings", "plan_segments", "parts_dir", "convert_segmented"]

MANIFEST_VERSION = 1
RAY_RETRIES = 3  # attempts after a lost worker, per piece
PIECE_EXT = ".nut"  # NUT keeps the input's time base and every timestamp exactly (Matroska rounds to 1 ms)


@dataclass
class Segment:
    """Frames with start <= pts < end (None: the film's start or end), in the video stream's time base."""

    index: int
    start: int | None
    end: int | None
    frames: int
    first: int | None = None  # the first frame's pts


@dataclass
class Plan:
    segments: list[Segment]
    time_base: str  # "num/den"
    frames: int


def plan_segments(src: str | os.PathLike, seconds: float) -> Plan:
    """Segments of about `seconds` starting at keyframes of the input, from its packets alone (nothing decoded).

    A keyframe starts a segment only when every packet before it in decode order shows earlier, so no frame of
    one segment needs decoding from another's packets. Without timestamps the film is one segment.
    """
    try:
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size]
    except av.error.FFmpegError as exc:
        raise InputError(f"corrupt or truncated stream in {src} ({exc}); convert it without --resume, "
                         f"--segment-seconds or --ray to see where") from None
    if not packets:
        raise InputError(f"the video stream has no frames: {src}")
    if any(pts is None for pts, _ in packets):
        return Plan([Segment(0, None, None, len(packets))], f"{tb.numerator}/{tb.denominator}", len(packets))
    step = seconds / float(tb)
    starts: list[int] = []
    last = min(pts for pts, _ in packets)
    seen_max = None
    for pts, key in packets:
        if key and seen_max is not None and seen_max < pts and pts - last >= step:
            starts.append(pts)
            last = pts
        seen_max = pts if seen_max is None else max(seen_max, pts)
    order = sorted(pts for pts, _ in packets)
    cuts = [0, *(bisect.bisect_left(order, pts) for pts in starts), len(order)]
    bounds = [None, *starts, None]
    segments = [Segment(i, bounds[i], bounds[i + 1], cuts[i + 1] - cuts[i], order[cuts[i]])
                for i in range(len(bounds) - 1)]
    return Plan(segments, f"{tb.numerator}/{tb.denominator}", len(packets))


def parts_dir(dst: str | os.PathLike) -> Path:
    """The hidden work folder beside the output: `.NAME.parts`."""
    dst = Path(dst)
    return dst.parent / f".{dst.name}.parts"


def _identity(src: Path) -> dict:
    """What says the input is the same file: size, modification time and a hash of its first MiB."""
    st = src.stat()
    with src.open("rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()
    return {"path": str(src.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256_first_mib": head}


def _write_json(path: Path, data: dict) -> None:
    """Atomically, and durably: a power cut leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mismatch(parts: Path, old: dict | None, manifest: dict) -> str | None:
    """Why the work folder cannot be resumed by this job (None: it can)."""
    if old is None or old.get("version") != MANIFEST_VERSION:
        return f"{parts} is not a work folder of this version"
    if old["input"] != manifest["input"]:
        return "the input changed since the interrupted run (size, time or content)"
    if old["options"] != manifest["options"]:
        diff = sorted(k for k in set(old["options"]) | set(manifest["options"])
                      if old["options"].get(k) != manifest["options"].get(k))
        return f"the options differ from the interrupted run's ({', '.join(diff)})"
    return None


def _open_parts(parts: Path, manifest: dict, resume: bool, notify, journal: bool = False) -> dict[int, dict]:
    """The finished pieces' records when resuming the same job; a fresh folder otherwise. ``journal`` (a plain
    convert of a long video): resume what matches, start over (with a note) what does not, never refuse."""
    path = parts / "manifest.json"
    if (resume or journal) and path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = None
        reason = _mismatch(parts, old, manifest)
        if reason is not None and resume:
            hint = "repeat them, or run" if reason.startswith("the options") else "run"
            raise InputError(f"cannot resume: {reason}; {hint} without --resume to start over")
        if reason is not None:
            notify(f"note: starting over: the work folder of an earlier run does not fit this one ({reason})")
            return _fresh(parts, path, manifest)
        records = {}
        for seg in manifest["plan"]["segments"]:
            rec, piece = parts / f"piece-{seg['index']:05d}.json", parts / f"piece-{seg['index']:05d}{PIECE_EXT}"
            try:
                if piece.exists():
                    records[seg["index"]] = json.loads(rec.read_text())
            except (OSError, ValueError):
                pass  # no record, or an unreadable one: the piece is made again
        notify(f"resuming: {len(records)} of {len(manifest['plan']['segments'])} pieces already done")
        return records
    return _fresh(parts, path, manifest)


def _fresh(parts: Path, path: Path, manifest: dict) -> dict:
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir()
    _write_json(path, manifest)
    return {}


@contextmanager
def locked(dst: Path) -> Iterator[None]:
    """One segmented run at a time per output: a second run on the same output is refused in one line while the
    first holds the lock (`.NAME.parts.lock` beside it; the kernel drops the lock of a killed run)."""
    lock = parts_dir(dst).with_name(parts_dir(dst).name + ".lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(unwritable(dst.parent, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"another conversion to {dst} is running (it holds {parts_dir(dst)}); wait for it to "
                             f"finish, or stop it and run the same command again") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break  # still the file at that name: the holder before us did not remove it meanwhile
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # while held: a run that opened this file before sees the inode is gone
        os.close(fd)


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # a full disk, a quota, a file size limit


def _kept(dst: Path, parts: Path, records: dict, total: int, reason: str, again: str) -> str:
    """The one-line message of a run stopped by a full disk: what is kept, how to go on."""
    size = sum(f.stat().st_size for f in parts.glob("*") if f.is_file()) if parts.exists() else 0
    return (f"cannot write {dst}: {reason}; {len(records)} of {total} pieces ({size / 1e6:.1f} MB) are kept in "
            f"{parts}: free space and run {again} to continue from them (or delete that folder)")


_TABLES: dict = {}  # code tables kept between the pieces converted in this process (engine.video.convert_span)


def convert_piece(src: Path, parts: Path, seg: dict, mapper: StreamMapper, film_frames: int, settings: Settings,
                  state: dict | None, bar: Progress | None = None) -> dict:
    """Convert one segment to `piece-NNNNN.nut` (atomically) and write its record; returns the record."""
    name = f"piece-{seg['index']:05d}"
    tmp, final = parts / f"tmp-{name}{PIECE_EXT}", parts / f"{name}{PIECE_EXT}"
    t0 = time.perf_counter()
    try:
        with VideoReader(src) as reader:
            report, end_state = convert_span(reader, tmp, mapper, (seg["start"], seg["end"]),
                                             film_frames=film_frames, settings=settings, state=state, bar=bar,
                                             cache=_TABLES)
        if report.frames != seg["frames"]:
            raise InputError(f"segment {seg['index']} of {src} decoded {report.frames} frames where the packets "
                             f"promised {seg['frames']}; convert it without --resume, --segment-seconds or --ray")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the piece is redone on resume; a half-written one is of no use
        raise
    record = {"index": seg["index"], "frames": report.frames, "max_cll": report.max_cll, "max_fall": report.max_fall,
              "width": report.width, "height": report.height, "state": end_state,
              "seconds": time.perf_counter() - t0, "stages": report.seconds}
    _write_json(parts / f"{name}.json", record)
    return record


def _tracker_states(src: Path, mapper: StreamMapper, segs: list[dict], film_frames: int,
                    lut: bool | None) -> Iterator[tuple[int, dict | None]]:
    """(index, temporal state at the segment's first frame) in order: a pass of the state alone over the film
    (decode and the tracker's small views, no mapping or encoding), so Ray workers can start mid-film with the
    state a one-piece run would have there. Stateless mappers: None for every segment, nothing decoded."""
    from sdr2hdr.engine.lut import supports
    from sdr2hdr.io.frames import frame_plane

    with VideoReader(src) as reader:
        w, h = even_size(reader.info.width, reader.info.height)
        fast = fast_path(mapper, reader.info, film_frames, lut, ConvertReport(src))
        stateful = stateful_part(mapper, fast)
        if stateful.tracker is None:
            yield from ((seg["index"], None) for seg in segs)
            return
        for owner in {id(mapper): mapper, id(stateful): stateful}.values():  # the conversion starts both afresh
            owner.resume(None)
        yield segs[0]["index"], None
        k = 1
        for _, frame in reader.span(None, None):
            while k < len(segs) and frame.pts >= segs[k]["start"]:
                yield segs[k]["index"], stateful.tracker.state()
                k += 1
            # the same views of the same frames as the conversion's path (engine.pipeline)
            if stateful is fast and supports(frame.format.name):
                y, u, v = (frame_plane(frame, i, 8) for i in range(3))
                fast.observe(y[:h, :w], u[: h // 2, : w // 2], v[: h // 2, : w // 2])
            else:
                mapper.observe(reader.rgb(frame)[:h, :w])
        for seg in segs[k:]:
            yield seg["index"], stateful.tracker.state()


def _run_local(src, parts, segs, records, mapper, film_frames, settings, bar) -> None:
    """Pieces in order on this machine; each tracker starts from the previous piece's recorded end state."""
    for seg in segs:
        i = seg["index"]
        if i not in records:
            state = records[i - 1]["state"] if i > 0 else None
            records[i] = convert_piece(src, parts, seg, mapper, film_frames, settings, state, bar)


def _run_ray(address, workers, src, parts, segs, records, mapper, film_frames, settings, bar) -> None:
    """Pieces as Ray tasks (one CPU each); a piece starts as soon as its tracker state is known."""
    with ray_session(address, workers) as ray:
        # a worker (or its node) lost mid-piece: Ray runs the piece again elsewhere; a piece is written under a
        # temporary name and renamed when whole, so the lost attempt leaves nothing the join could take
        task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(convert_piece)
        mapper_ref = ray.put(mapper)
        by_index = {seg["index"]: seg for seg in segs}
        submitted = ((index, task.remote(src, parts, by_index[index], mapper_ref, film_frames, settings, state))
                     for index, state in _tracker_states(src, mapper, segs, film_frames, settings.lut)
                     if index not in records)
        for _, ref in as_done(ray, submitted):
            try:
                rec = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                raise (exc.cause if isinstance(exc.cause, (InputError, OSError)) else exc) from None
            except ray.exceptions.RayError as exc:  # lost more often than it is retried
                reason = " ".join(str(exc).split())[:160]
                raise InputError(f"a piece's Ray worker was lost {RAY_RETRIES + 1} times ({reason}); the finished "
                                 f"pieces are kept in {parts}: the same command with --resume continues") from None
            records[rec["index"]] = rec
            bar.update(rec["frames"])


def _packets(container, streams):
    """(seconds, packet) of the given streams in file order, skipping the empty end-of-stream packets."""
    for packet in container.demux(*streams):
        if packet.size and packet.dts is not None:
            yield float(packet.dts * packet.time_base), packet


def _piece_packets(pieces: list[Path], firsts: list[Fraction | None]):
    """(seconds, packet) of the pieces' video in order, with the input's timestamps and every packet a decode time.

    The NUT muxer moves a piece whose decode times start below zero (the first one: x265 decodes B-frames ahead)
    so that they do not; ``firsts`` (each piece's first presentation time in seconds, from the plan) moves it back.
    NUT stores presentation times only, so a piece's first packets (as many as the encoder's reorder delay) come
    back without a decode time; they get the one x265 gave them, presentation time less the delay (the span of
    that many frames at the piece's start), kept above the previous piece's last decode time.
    """
    last = None
    for piece, first in zip(pieces, firsts):
        with av.open(str(piece)) as container:
            packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        if first is not None and packets:
            tb = packets[0].time_base
            shift = round((min(p.pts for p in packets) * tb - first) / tb)
            for p in packets:
                p.pts -= shift
                if p.dts is not None:
                    p.dts -= shift
        lead = next((i for i, p in enumerate(packets) if p.dts is not None), len(packets))
        order = sorted(p.pts for p in packets)
        delay = order[min(lead, len(order) - 1)] - order[0]
        for i, packet in enumerate(packets):
            if packet.dts is None:
                dts = order[i] - delay
                if last is not None:
                    dts = max(dts, int(last * packet.time_base.denominator / packet.time_base.numerator) + 1)
                packet.dts = min(dts, packet.pts)
            last = packet.dts * packet.time_base
            yield float(last), packet


def join_pieces(pieces: list[Path], src: Path, out_path: str, firsts: list[Fraction | None]) -> None:
    """Pieces' HEVC packets and the input's audio/subtitle packets, by stream copy, interleaved by time."""
    from sdr2hdr.io.codecs import container_format

    ext = Path(out_path).suffix.lower()
    options = {"write_crc32": "0"} if ext in (".mkv", ".mka", ".webm") else {}  # the CLL patch would break CRCs
    if ext in (".mp4", ".mov", ".m4v"):
        options["movflags"] = "+write_colr"
    with av.open(str(src)) as inp, av.open(str(pieces[0])) as first, \
            av.open(out_path, "w", format=container_format(ext), options=options) as out:
        vin = first.streams.video[0]
        vout = out.add_stream_from_template(vin, opaque=True)  # a copy: no encoder may open (it would
        # replace the pieces' headers with its own)
        vout.time_base = inp.streams.video[0].time_base  # as a one-piece run writes it
        if ext in (".mp4", ".mov", ".m4v"):
            vout.codec_tag = "hvc1"
        language = inp.streams.video[0].metadata.get("language")
        if language:
            vout.metadata["language"] = language
        copies = [s for s in inp.streams if s.type in ("audio", "subtitle")]
        targets = {s.index: copy_stream(out, s, ext) for s in copies}
        video = ((t, p, vout) for t, p in _piece_packets(pieces, firsts))
        other = ((t, p, targets[p.stream.index]) for t, p in _packets(inp, copies)) if copies else iter(())
        for _, packet, target in heapq.merge(video, other, key=lambda item: item[0]):
            packet.stream = target
            out.mux(packet)


def _options(mapper: StreamMapper, settings: Settings, seconds: float, dst: Path) -> dict:
    """Everything that changes the output: a resume with other values is refused."""
    from sdr2hdr import __version__

    return {"mapper": mapper.description, "crf": settings.crf, "qp": settings.qp, "preset": settings.preset,
            "mastering": settings.mastering.x265(), "lut": settings.lut, "x265_params": settings.x265_params,
            "segment_seconds": seconds, "output_type": dst.suffix.lower(), "version": __version__}


def convert_segmented(src: str | os.PathLike, dst: str | os.PathLike, mapper: StreamMapper, *,
                      seconds: float = 10.0, resume: bool = False, overwrite: bool = False,
                      settings: Settings | None = None, progress: bool = True, ray: str | None = None,
                      ray_workers: int | None = None, journal: bool = False,
                      notify: Callable[[str], None] = print) -> ConvertReport:
    """Convert a video in keyframe-aligned segments (resumable; on Ray workers with ``ray``), then join them.

    ``journal``: a plain conversion kept resumable (engine.convert's choice for long videos): an earlier run's
    work folder is continued when it fits and replaced when it does not, instead of refused.
    """
    with locked(Path(dst)):
        done = _joined_before(Path(src), Path(dst)) if resume or journal else None
        if done is not None:
            notify(f"already complete: {dst} was joined by the interrupted run; its work folder is now removed")
            return done
        return _segmented(src, dst, mapper, seconds, resume, overwrite, settings or Settings(), progress, ray,
                          ray_workers, journal, notify)


def _segmented(src, dst, mapper, seconds, resume, overwrite, settings, progress, ray, ray_workers, journal,
               notify) -> ConvertReport:
    """convert_segmented, under its lock."""
    src, dst = check_convert_paths(src, dst, overwrite, image=False)
    if mapper.frames > 1:
        raise InputError(f"{mapper.name} looks at {mapper.frames} frames at a time, so its segments would not join "
                         f"into the frames of one run; convert it without --resume, --segment-seconds or --ray")
    t0 = time.perf_counter()
    check_sdr(probe(src))  # refuses what cannot be converted before any work folder exists
    plan = plan_segments(src, seconds)
    manifest = json.loads(json.dumps({"version": MANIFEST_VERSION, "input": _identity(src),
                                      "options": _options(mapper, settings, seconds, dst), "plan": asdict(plan)}))
    parts = parts_dir(dst)
    segs = manifest["plan"]["segments"]
    records: dict = {}
    again = "the same command again" + ("" if resume or journal else " with --resume")
    try:
        records.update(_open_parts(parts, manifest, resume, notify, journal))
        # one bar over the film: frames of pieces finished before a resume count as done from the start
        bar = Progress(plan.frames, progress, done=sum(r["frames"] for r in records.values()))
        try:
            if ray:
                _run_ray(ray, ray_workers, src, parts, segs, records, mapper, plan.frames, settings, bar)
            else:
                _run_local(src, parts, segs, records, mapper, plan.frames, settings, bar)
        finally:
            bar.close()
        report = _finish(src, dst, parts, manifest["plan"], records, again, settings.mastering)
    except KeyboardInterrupt:
        notify(f"interrupted: {len(records)} of {len(segs)} pieces are kept in {parts}; {again} continues from "
               f"there")
        raise
    except OSError as exc:  # PyAV's write errors are OSErrors too, with the errno
        if exc.errno not in _FULL:
            raise
        raise InputError(_kept(dst, parts, records, len(segs), os.strerror(exc.errno), again)) from None
    report.seconds["total"] = time.perf_counter() - t0
    report.notes.append(f"{len(segs)} piece(s)" + (f" on Ray ({ray})" if ray else ""))
    return report


def _finish(src: Path, dst: Path, parts: Path, plan: dict, records: dict, again: str,
            mastering: MasteringDisplay | None = None) -> ConvertReport:
    """Join the pieces into the output (atomically), write MaxCLL/MaxFALL over the film, remove the work folder."""
    segs = plan["segments"]
    recs = [records[seg["index"]] for seg in segs]
    report = ConvertReport(dst, frames=sum(r["frames"] for r in recs), width=recs[0]["width"],
                           height=recs[0]["height"])
    # a frame's light level does not depend on the piece it is in: the film's maxima are the pieces' maxima
    # (written as sei_safe_light_level makes them, so that what the file says is what the report prints)
    report.max_cll, report.max_fall = sei_safe_light_level(max(r["max_cll"] for r in recs),
                                                           max(r["max_fall"] for r in recs))
    for stage in ("decode", "convert", "encode"):  # CPU seconds over the pieces (on Ray, on many machines)
        report.seconds[stage] = sum(r["stages"][stage] for r in recs)
    pieces = [parts / f"piece-{seg['index']:05d}{PIECE_EXT}" for seg in segs]

    def write(tmp: str) -> None:
        tb = Fraction(plan["time_base"])
        join_pieces(pieces, src, tmp, [None if seg["first"] is None else seg["first"] * tb for seg in segs])
        # MaxCLL / MaxFALL into the SEI, and with the mastering display into the container (io.writer)
        write_light_level(tmp, "hevc", mastering or MasteringDisplay(), (report.max_cll, report.max_fall))
        # the pieces are written without the input's rotation; the joined film gets it, as a one-piece run does
        matrix = read_display_matrix(src)
        if matrix is not None and not set_display_matrix(tmp, matrix):
            report.notes.append(f"the input's rotation is not kept: a {dst.suffix} file has no place for it; write "
                                f".mkv or .mp4 to keep it")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        # a kill between the rename below and the folder's removal must not make the next resume refuse the
        # finished output: the record names the file that the rename keeps (same inode, size and time)
        _write_json(parts / "joined.json", {**_stat(Path(tmp)), "report": asdict(report) | {"output": str(dst)}})

    try:
        write_atomic(dst, write)
    except WriteError as exc:  # a full disk while joining: the pieces stay, the same command joins them later
        raise InputError(_kept(dst, parts, records, len(segs), exc.reason, again)) from None
    _remove(parts)
    return report


def _stat(path: Path) -> dict:
    st = path.stat()
    return {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _remove(parts: Path) -> None:
    """Rename, then delete: a kill halfway leaves a folder nobody resumes from, removed by the next run."""
    trash = parts.with_name(parts.name + ".trash")
    if trash.exists():
        shutil.rmtree(trash)
    os.replace(parts, trash)
    shutil.rmtree(trash)


def _joined_before(src: Path, dst: Path) -> ConvertReport | None:
    """The report of a run killed after its output was in place but before its work folder was removed."""
    parts = parts_dir(dst)
    trash = parts.with_name(parts.name + ".trash")
    if trash.exists():
        shutil.rmtree(trash)
    record = parts / "joined.json"
    if not (dst.exists() and record.exists()):
        return None
    joined = json.loads(record.read_text())
    if {k: joined[k] for k in ("ino", "size", "mtime_ns")} != _stat(dst):
        return None
    _remove(parts)
    fields = joined["report"]
    return ConvertReport(Path(fields.pop("output")), **{k: v for k, v in fields.items() if k != "notes"})
