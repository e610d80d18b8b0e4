"""The main job: SDR video or image in, HDR10 video or PQ/linear HDR image out, through a frame mapper.

Functions
- classical_mapper(method, peak_nits, exposure) -> a stream mapper for BT.2408 / BT.2446 A / BT.2446 C
- model_mapper(name, weights, device, precision, tile, peak_nits, exposure) -> a stream mapper for a registered model
- convert_video(src, dst, mapper, ...) -> ConvertReport: decode -> map -> encode, overlapped in threads
- convert_image(src, dst, mapper, ...) -> ConvertReport

A mapper (engine.infer.StreamMapper) takes float32 HWC SDR R'G'B' (BT.709, BT.1886) frames in order and gives back
float32 HWC PQ R'G'B' (BT.2020) frames in the same order, later for multi-frame models.
Outputs are written under a temporary name beside the destination and renamed only when complete.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from sdr2hdr.color import limit_luma_420, pq_eotf, pq_inverse_eotf, pq_trim, rgb_to_yuv420
from sdr2hdr.engine.adaptive import AdaptiveStream, AdaptiveTable
from sdr2hdr.engine.infer import ClassicalStream, ModelRunner, ModelStream, StreamMapper
from sdr2hdr.engine.lut import CodeLUT, supports
from sdr2hdr.engine.threads import single_threaded
from sdr2hdr.errors import InputError
from sdr2hdr.io.frames import frame_plane
from sdr2hdr.io.hdr10 import MasteringDisplay
from sdr2hdr.io.images import IMAGE_EXTENSIONS, SDR_IMAGE_EXTENSIONS, read_image, write_atomic, write_exr, write_png16
from sdr2hdr.io.media import VideoInfo, estimate_frames
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.io.writer import MIN_SIDE, HDR10Writer
from sdr2hdr.tonemap import INVERSE_MAPPINGS

VIDEO_OUT_EXTENSIONS = {".mkv", ".mp4", ".mov", ".m4v", ".ts", ".hevc", ".h265"}
IMAGE_OUT_EXTENSIONS = {".png", ".exr"}
_LUT_BREAK_EVEN_PIXELS = 2 * (1 << 24)

DEFAULT_MASTERING = MasteringDisplay()  # P3-D65, 1000 cd/m2 (frozen: safe to share as a default)


def exposure_note(exposure: float) -> str:
    """How a mapper's description names a brightness trim ('' without one)."""
    return f", exposure {exposure:+g} stops" if exposure else ""


def peak_limited(inverse: Callable[[np.ndarray], np.ndarray], pq_peak: float,
                 exposure: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """A per-pixel SDR -> PQ mapping trimmed by `exposure` stops, then hard-clipped at the peak's PQ code."""

    def run(rgb: np.ndarray) -> np.ndarray:
        pq = np.asarray(inverse(rgb), dtype=np.float32)
        if exposure:
            pq = np.asarray(pq_trim(pq, exposure), dtype=np.float32)
        # PQ is monotonic, so clipping the code at PQ(peak) is the hard clip at the peak luminance.
        return np.clip(pq, 0.0, pq_peak)

    return run


def classical_mapper(method: str, peak_nits: float = 1000.0, exposure: float = 0.0) -> ClassicalStream:
    """One of the standard non-learned SDR->HDR mappings, limited to the mastering peak (hard clip in cd/m2).

    exposure: a brightness trim in stops on the mapping's light, before the peak limit.
    """
    if method not in INVERSE_MAPPINGS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(sorted(INVERSE_MAPPINGS))}")
    pq_peak = float(pq_inverse_eotf(np.array([peak_nits], dtype=np.float64))[0])
    return ClassicalStream(method, peak_limited(INVERSE_MAPPINGS[method], pq_peak, exposure),
                           f"{method} (classical, peak {peak_nits:g} cd/m2{exposure_note(exposure)})")


def model_mapper(name: str, weights: str | os.PathLike | None = None, device: str = "auto",
                 precision: str = "fp32", tile: int | None = 512, peak_nits: float = 1000.0,
                 exposure: float = 0.0) -> ModelStream:
    """A registered model with its weights (shipped ones by default) as a stream mapper (exposure: a trim in
    stops on its output light, before the peak limit)."""
    from sdr2hdr.models.weights import load_model

    model, path = load_model(name, weights)
    pq_peak = float(pq_inverse_eotf(np.array([peak_nits], dtype=np.float64))[0])
    if hasattr(model, "pq_mapping"):  # adaptive_itm: per-frame global inverse, baked into the code table
        from sdr2hdr.engine.adaptive import AdaptiveStream

        dev = "cuda" if device == "auto" and __import__("torch").cuda.is_available() else \
            ("cpu" if device == "auto" else device)
        # the grading convention the estimate is asked for: BT.2408 reference white on the display written
        model.target_grade = (model.target_grade[0], float(peak_nits))
        model.exposure = float(exposure)
        return AdaptiveStream(name, model, pq_peak, device=dev,
                              description=f"{name} ({path.name}, per-frame global inverse{exposure_note(exposure)})")
    runner = ModelRunner(model, device=device, precision=precision, tile=tile, max_value=pq_peak, exposure=exposure)
    return ModelStream(name, runner,
                       f"{name} ({path.name}, {runner.device.type} {precision}{exposure_note(exposure)})")


@dataclass
class ConvertReport:
    """What a conversion did, for the CLI and the benchmark."""

    output: Path
    frames: int = 0
    width: int = 0
    height: int = 0
    max_cll: int | None = None
    max_fall: int | None = None
    seconds: dict = field(default_factory=lambda: {"decode": 0.0, "convert": 0.0, "encode": 0.0, "total": 0.0})
    notes: list = field(default_factory=list)
    mapping: str = ""  # the mapper's description, e.g. "bt2446c (classical, peak 1000 cd/m2)"

    @property
    def fps(self) -> float:
        return self.frames / self.seconds["total"] if self.seconds["total"] > 0 else 0.0


def check_paths(src: str | os.PathLike, dst: str | os.PathLike, overwrite: bool) -> tuple[Path, Path]:
    """Refuse, before any work, outputs that would fail or destroy something."""
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"no such file: {src}")
    if not src.is_file():
        raise InputError(f"not a file: {src}")
    if not dst.parent.exists() or not dst.parent.is_dir():
        raise InputError(f"output directory does not exist: {dst.parent}")
    if dst.exists():
        if src.resolve() == dst.resolve():
            raise InputError("output and input are the same file; the input is never modified")
        if not overwrite:
            raise InputError(f"output exists: {dst} (use --overwrite to replace it)")
        if dst.is_dir():
            raise InputError(f"output is a directory: {dst}")
    return src, dst


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS | SDR_IMAGE_EXTENSIONS


def convert_image(src: str | os.PathLike, dst: str | os.PathLike, mapper: StreamMapper,
                  overwrite: bool = False) -> ConvertReport:
    """SDR still (8-bit PNG, JPEG, ...) -> 16-bit PQ PNG or linear BT.2020 EXR in cd/m2."""
    src, dst = check_paths(src, dst, overwrite)
    if dst.suffix.lower() not in IMAGE_OUT_EXTENSIONS:
        raise InputError(f"an image converts to .png (16-bit PQ) or .exr (linear), not {dst.suffix or 'no extension'}")
    t0 = time.perf_counter()
    img = read_image(src)
    if img.kind != "sdr":
        raise InputError(f"input is already HDR ({'16-bit PQ PNG' if img.kind == 'pq' else 'linear EXR/HDR'}): {src}")
    pq = mapper(img.pixels)  # a multi-frame model sees the still repeated over its window
    if dst.suffix.lower() == ".png":
        write_png16(dst, pq, overwrite=overwrite)
    else:
        write_exr(dst, np.asarray(pq_eotf(pq), dtype=np.float32), primaries="bt2020", overwrite=overwrite)
    report = ConvertReport(dst, 1, pq.shape[1], pq.shape[0])
    nits = np.asarray(pq_eotf(pq.max(axis=-1)))
    report.max_cll, report.max_fall = round(float(nits.max())), round(float(nits.mean()))
    report.seconds["total"] = time.perf_counter() - t0
    return report


class _Progress:
    """A progress line with frames done, frames/s and time left (tqdm on stderr)."""

    def __init__(self, total: int | None, enabled: bool, desc: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="frame", desc=desc, file=sys.stderr, dynamic_ncols=True,
                            mininterval=0.5, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                            "[{elapsed}<{remaining}, {rate_fmt}]")

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


_DONE = object()


def convert_video(src: str | os.PathLike, dst: str | os.PathLike, mapper: StreamMapper, *, overwrite: bool = False,
                  crf: float | None = None, qp: int | None = None, preset: str = "fast",
                  mastering: MasteringDisplay = DEFAULT_MASTERING,
                  progress: bool = True, max_frames: int | None = None,
                  notify: Callable[[str], None] = print,
                  lut: bool | None = None, x265_params: str = "") -> ConvertReport:
    """Convert an SDR video to HDR10 HEVC; audio and subtitles are copied; the output appears only when complete.

    ``lut``: run a classical mapping on 8-bit 4:2:0 sources through a code-value table (engine.lut; True), per
    pixel in float (False), or the table when the clip is long enough to repay building it (None).
    """
    src, dst = check_paths(src, dst, overwrite)
    if dst.suffix.lower() not in VIDEO_OUT_EXTENSIONS:
        raise InputError(f"a video converts to one of {', '.join(sorted(VIDEO_OUT_EXTENSIONS))}, "
                         f"not {dst.suffix or 'no extension'}")
    reader = VideoReader(src)
    report = ConvertReport(dst)
    try:
        info = reader.info
        w, h = _even_size(info, report, notify)
        report.width, report.height = w * mapper.scale, h * mapper.scale
        _check_input(reader, report, notify)
        total = estimate_frames(info)
        if max_frames:
            total = min(total or max_frames, max_frames)

        t0 = time.perf_counter()  # the table's build counts in the total
        if reader.needs_gamut_conversion:
            lut = False  # the code tables read Y'CbCr directly, without the primaries conversion
        fast = fast_path(mapper, info, total, lut, report)

        def write(tmp: str) -> None:
            writer = HDR10Writer(tmp, report.width, report.height, info.time_base, info.rate,
                                 copy_from=reader.copy_streams, crf=crf,
                                 qp=qp, preset=preset, mastering=mastering, x265_params=x265_params,
                                 language=reader.stream.metadata.get("language"),
                                 sample_aspect_ratio=reader.stream.sample_aspect_ratio)
            try:
                pq_peak = float(pq_inverse_eotf(np.array([mastering.max_nits], dtype=np.float64))[0])
                _pipeline(reader, writer, mapper, report, total, progress, max_frames, w, h, fast, pq_peak)
            except BaseException:
                writer.abort()
                raise
            t = time.perf_counter()
            writer.display_matrix = reader.display_matrix
            report.max_cll, report.max_fall = writer.close()
            report.seconds["encode"] += time.perf_counter() - t
            for note in writer.dropped:
                report.notes.append(note)
                notify(f"warning: {note}")

        with single_threaded() if _light(mapper, fast) else nullcontext():
            write_atomic(dst, write, overwrite)
        report.seconds["total"] = time.perf_counter() - t0
        _closing_notes(reader, fast, report, notify)
    finally:
        reader.close()
    return report


def _light(mapper: StreamMapper, fast: CodeLUT | AdaptiveTable | None) -> bool:
    """True when the mapping is light work beside x265 (a code table, a classical mapping or adaptive_itm's
    per-pixel inverse on the CPU): it then runs on one thread (engine.threads). A CNN keeps every thread."""
    if fast is not None or isinstance(mapper, ClassicalStream):
        return True
    return isinstance(mapper, AdaptiveStream) and mapper.device.type == "cpu" and mapper.model.local is None


def _closing_notes(reader: VideoReader, fast: CodeLUT | AdaptiveTable | None, report: ConvertReport,
                   notify: Callable[[str], None]) -> None:
    """What the user should know once the file is written: interlaced input, the adaptive table's rebuilds."""
    if reader.interlaced:
        note = ("the input is interlaced; it was converted frame by frame without deinterlacing (deinterlace "
                "it first, e.g. ffmpeg -vf bwdif, for a progressive HDR result)")
        report.notes.append(note)
        notify(f"warning: {note}")
    if isinstance(fast, AdaptiveTable):
        tr = fast.tracker
        report.notes.append(f"global inverse baked {tr.builds} time(s) ({fast.build_seconds:.1f} s), "
                            f"{tr.cuts} scene cut(s)")


def _even_size(info: VideoInfo, report: ConvertReport, notify: Callable[[str], None]) -> tuple[int, int]:
    """The picture size 4:2:0 can carry (even sides), with a note when a row or column is cropped."""
    w, h = info.width - info.width % 2, info.height - info.height % 2
    if (w, h) != (info.width, info.height):
        note = (f"{info.width}x{info.height} has an odd side; 4:2:0 needs even sizes, so the last "
                f"{'column' if w != info.width else ''}{' and ' if w != info.width and h != info.height else ''}"
                f"{'row' if h != info.height else ''} is cropped: output {w}x{h}")
        report.notes.append(note)
        notify(f"note: {note}")
    return w, h


def fast_path(mapper: StreamMapper, info: VideoInfo, total: int | None, lut: bool | None,
              report: ConvertReport) -> CodeLUT | AdaptiveTable | None:
    """The mapper baked into a code table when the source and the clip's length allow it (see convert_video)."""
    w, h = info.width - info.width % 2, info.height - info.height % 2
    if lut is not False and isinstance(mapper, AdaptiveStream) and mapper.model.local is None \
            and supports(info.pix_fmt):
        # the global inverse of each shot baked into the code table: the table is the default path here
        return AdaptiveTable(mapper.model, matrix=info.matrix, full_range=info.full_range, pq_peak=mapper.pq_peak)
    if lut is not False and isinstance(mapper, ClassicalStream) and supports(info.pix_fmt):
        # building costs about as much as mapping 16M pixels per pixel; worth it from a few seconds of HD on
        if lut or total is None or total * w * h >= _LUT_BREAK_EVEN_PIXELS:
            t = time.perf_counter()
            fast = CodeLUT(mapper.fn, matrix=info.matrix, full_range=info.full_range)
            report.seconds["convert"] += time.perf_counter() - t
            return fast
    return None


def _check_input(reader: VideoReader, report: ConvertReport, notify: Callable[[str], None]) -> None:
    """Refuse a picture x265 cannot encode; say when the input's primaries are converted before the mapping."""
    info = reader.info
    if min(report.width, report.height) < MIN_SIDE:
        raise InputError(f"the picture is {info.width}x{info.height}, too small for HEVC (x265 needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE}); scale it up first, e.g. ffmpeg -i IN -vf scale=-2:64 OUT")
    if reader.needs_gamut_conversion:
        note = ("the input is tagged with BT.2020 primaries: its colours are taken to BT.709 for the mapping "
                "(colours outside BT.709 are clipped) and come back out in BT.2020")
        report.notes.append(note)
        notify(f"note: {note}")




def convert_span(reader: VideoReader, dst: str | os.PathLike, mapper: StreamMapper, span: tuple, *,
                 film_frames: int | None, lut: bool | None = None, crf: float | None = None, qp: int | None = None,
                 preset: str = "fast", mastering: MasteringDisplay = DEFAULT_MASTERING, x265_params: str = "",
                 state: dict | None = None, bar: _Progress | None = None,
                 cache: dict | None = None) -> tuple[ConvertReport, dict | None]:
    """One segment of a film (frames with start <= pts < end) to its own HEVC file, for engine.segments.

    The piece has no other streams and keeps the sentinel MaxCLL/MaxFALL (the joined film is patched with the
    maximum over pieces). The table decision uses the whole film's length, and an adaptive model's tracker starts
    from ``state`` (the previous segment's end), so each frame maps as in a one-piece run. Returns the report and
    the tracker's state after the last frame (None for stateless mappers). ``cache``: a dict kept between the
    pieces of one process, so a code table is built once and not again for each piece.
    """
    info = reader.info
    w, h = info.width - info.width % 2, info.height - info.height % 2
    report = ConvertReport(Path(dst), width=w * mapper.scale, height=h * mapper.scale)
    if reader.needs_gamut_conversion:
        lut = False  # as in convert_video: the code tables read Y'CbCr without the primaries conversion
    # the cache keeps the mapper itself, so its id cannot be reused by another mapper while the entry lives
    key = (id(mapper), str(reader.path), lut, film_frames)
    if cache is not None and cache.get("key") == key:
        fast = cache["fast"]
    else:
        fast = fast_path(mapper, info, film_frames, lut, report)
        if cache is not None:
            cache.clear()
            cache.update(key=key, mapper=mapper, fast=fast)
    tracker = fast.tracker if isinstance(fast, AdaptiveTable) else getattr(mapper, "tracker", None)
    if isinstance(fast, AdaptiveTable):
        fast.resume(state)
    elif tracker is not None:
        tracker.reset() if state is None else tracker.load_state(state)  # the mapper may come from a piece before
    writer = HDR10Writer(dst, report.width, report.height, info.time_base, info.rate, crf=crf, qp=qp, preset=preset,
                         mastering=mastering, x265_params=x265_params,
                         language=reader.stream.metadata.get("language"))
    try:
        pq_peak = float(pq_inverse_eotf(np.array([mastering.max_nits], dtype=np.float64))[0])
        with single_threaded() if _light(mapper, fast) else nullcontext():
            _pipeline(reader, writer, mapper, report, None, False, None, w, h, fast, pq_peak,
                      items=reader.span(*span), bar=bar)
    except BaseException:
        writer.abort()
        raise
    t = time.perf_counter()
    report.max_cll, report.max_fall = writer.close(patch=False)
    report.seconds["encode"] += time.perf_counter() - t  # x265 holds a short piece's frames until the flush
    return report, (tracker.state() if tracker is not None else None)


class _Producer:
    """The worker thread of _pipeline: decode, map and limit each frame, queue it with the packets to copy."""

    def __init__(self, reader: VideoReader, mapper: StreamMapper, fast: CodeLUT | AdaptiveTable | None,
                 pq_peak: float | None, size: tuple[int, int], secs: dict, max_frames: int | None):
        self.reader, self.mapper, self.fast, self.pq_peak = reader, mapper, fast, pq_peak
        self.w, self.h = size
        self.secs, self.max_frames = secs, max_frames
        self.work: queue.Queue = queue.Queue(maxsize=8)
        self.stop = threading.Event()
        self.failure: list[BaseException] = []
        self.pts_waiting: deque = deque()  # multi-frame models give frame k back only after frame k + T/2 arrived

    def _limited(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.pq_peak is not None:
            limit_luma_420(y, u, v, self.pq_peak)  # the peak holds after chroma subsampling too
        return y, u, v

    def _hand_over(self, outputs: list) -> None:
        t = time.perf_counter()
        planes = [self._limited(*rgb_to_yuv420(pq, matrix="bt2020", bits=10, full_range=False)) for pq in outputs]
        self.secs["convert"] += time.perf_counter() - t
        for p in planes:
            self.work.put(("frame", (p, self.pts_waiting.popleft())))

    def _frame(self, item: av.VideoFrame, t_read: float) -> None:
        """Map one decoded frame: through the code table when it covers the frame, else through the mapper."""
        w, h = self.w, self.h
        if self.fast is not None and supports(item.format.name):
            y, u, v = (frame_plane(item, i, 8) for i in range(3))
            t = time.perf_counter()
            self.secs["decode"] += t - t_read
            planes = self._limited(*self.fast(y[:h, :w], u[: h // 2, : w // 2], v[: h // 2, : w // 2]))
            self.secs["convert"] += time.perf_counter() - t
            self.work.put(("frame", (planes, item.pts)))
            return
        rgb = self.reader.rgb(item)[:h, :w]
        t = time.perf_counter()
        self.secs["decode"] += t - t_read
        self.pts_waiting.append(item.pts)
        outputs = self.mapper.push(rgb)
        self.secs["convert"] += time.perf_counter() - t
        self._hand_over(outputs)

    def run(self, items: Iterable) -> None:
        try:
            count = 0
            t = time.perf_counter()
            for kind, item in items:
                if self.stop.is_set():
                    return
                if kind == "packet":
                    self.secs["decode"] += time.perf_counter() - t
                    self.work.put(("packet", item))
                else:
                    self._frame(item, t)
                    count += 1
                    if self.max_frames and count >= self.max_frames:
                        break
                t = time.perf_counter()
            t = time.perf_counter()
            outputs = self.mapper.flush()
            self.secs["convert"] += time.perf_counter() - t
            self._hand_over(outputs)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.failure.append(exc)
        finally:
            self.work.put((_DONE, None))


def _pipeline(reader: VideoReader, writer: HDR10Writer, mapper: StreamMapper, report: ConvertReport,
              total: int | None, progress: bool, max_frames: int | None, w: int, h: int,
              fast: CodeLUT | AdaptiveTable | None = None, pq_peak: float | None = None,
              items: Iterable | None = None, bar: _Progress | None = None) -> None:
    """Decode and map in a worker thread while the main thread encodes: x265 and numpy both release the GIL.

    ``fast``: the mapper baked into a code table, used on the frames it covers (8-bit 4:2:0) instead of the mapper.
    ``items``: what to read instead of the whole of ``reader.items()``; ``bar``: a progress bar owned by the caller.
    """
    producer = _Producer(reader, mapper, fast, pq_peak, (w, h), report.seconds, max_frames)
    worker = threading.Thread(target=producer.run, args=(reader.items() if items is None else items,),
                              name="sdr2hdr-decode", daemon=True)
    own_bar = bar is None
    bar = _Progress(total, progress, "converting") if own_bar else bar
    worker.start()
    try:
        while True:
            kind, item = producer.work.get()
            if kind is _DONE:
                break
            t = time.perf_counter()
            if kind == "packet":
                writer.copy_packet(item)
            else:
                (y, u, v), pts = item
                writer.write_planes(y, u, v, pts)
                report.frames += 1
                bar.update()
            report.seconds["encode"] += time.perf_counter() - t
    finally:
        producer.stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                producer.work.get_nowait()
            except queue.Empty:
                worker.join(0.05)
        if own_bar:
            bar.close()
    if producer.failure:
        raise producer.failure[0]
