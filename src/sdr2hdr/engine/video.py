"""Video jobs: a whole SDR video to an HDR10 file (audio and subtitles copied), or one span of it (engine.segments).

Both run the same span encoder: the film's frames (all of them, or those of one segment) through the mapper or the
code table that stands in for it, into x265 by the threaded pipeline (engine.pipeline). A whole video is the span
of every frame plus the copied streams; a segment is a span alone, its MaxCLL/MaxFALL patched after joining.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sdr2hdr.color import even_size, pq_code
from sdr2hdr.engine.paths import check_convert_paths
from sdr2hdr.engine.pipeline import pipeline
from sdr2hdr.engine.report import ConvertReport, Progress
from sdr2hdr.engine.request import Settings
from sdr2hdr.engine.stream import StreamMapper
from sdr2hdr.engine.threads import single_threaded
from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.io.codecs import delivery_label
from sdr2hdr.io.hdr10 import MasteringDisplay
from sdr2hdr.io.hdr10plus import write_hdr10plus_json
from sdr2hdr.io.media import VideoInfo, estimate_frames
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.io.writer import MIN_SIDE, HDR10Writer

DEFAULT_MASTERING = MasteringDisplay()  # P3-D65, 1000 cd/m2 (frozen: safe to share as a default)


def fast_path(mapper: StreamMapper, info: VideoInfo, total: int | None, lut: bool | None,
              report: ConvertReport) -> Any:
    """The code table the mapper offers for this source and clip length (``lut``: see convert_video), or None."""
    w, h = even_size(info.width, info.height)
    t = time.perf_counter()
    fast = mapper.code_table(info.pix_fmt, info.matrix, info.full_range, None if total is None else total * w * h,
                             lut)
    report.seconds["convert"] += time.perf_counter() - t  # the table's build counts as conversion
    return fast


def _threads(mapper: StreamMapper, fast: Any) -> Any:
    """One thread for light work beside x265 (a code table, or a mapper that says it is light); a CNN keeps all."""
    return single_threaded() if fast is not None or mapper.light else nullcontext()


def _encode_span(reader: VideoReader, writer: HDR10Writer, mapper: StreamMapper, fast: Any, report: ConvertReport,
                 peak_nits: float, *, patch: bool, rotation: bool = False, **run: Any) -> None:
    """Frames through the pipeline into the writer, limited to the peak, then close it (``patch``: write
    MaxCLL/MaxFALL into the file now; ``rotation``: give it the input's display matrix)."""
    w, h = report.width // mapper.scale, report.height // mapper.scale
    try:
        pipeline(reader, writer, mapper, report, w=w, h=h, fast=fast, pq_peak=pq_code(peak_nits), **run)
    except BaseException:
        writer.abort()
        raise
    t = time.perf_counter()
    if rotation:  # known only once the first frame is decoded: the reader takes it from the frame's side data
        writer.display_matrix = reader.display_matrix
    report.max_cll, report.max_fall = writer.close(patch=patch)
    report.seconds["encode"] += time.perf_counter() - t  # x265 holds a short piece's frames until the flush


def _writer(path: str | os.PathLike, reader: VideoReader, report: ConvertReport, settings: Settings,
            mastering: MasteringDisplay, copy: bool) -> HDR10Writer:
    """The HDR10 writer of a job (``copy``: with the input's audio and subtitles, rotation and pixel aspect)."""
    info = reader.info
    extra = {"copy_from": reader.copy_streams, "sample_aspect_ratio": reader.stream.sample_aspect_ratio} \
        if copy else {}
    return HDR10Writer(path, report.width, report.height, info.time_base, info.rate, crf=settings.crf,
                       qp=settings.qp, preset=settings.preset, mastering=mastering,
                       x265_params=settings.x265_params, language=reader.stream.metadata.get("language"),
                       codec=settings.codec, transfer=settings.transfer, bits=settings.bits,
                       alt_transfer_sei=settings.alt_transfer_sei, hdr10plus=settings.hdr10plus, **extra)


def convert_video(src: str | os.PathLike, dst: str | os.PathLike, mapper: StreamMapper, *, overwrite: bool = False,
                  crf: float | None = None, qp: int | None = None, preset: str = "fast",
                  mastering: MasteringDisplay = DEFAULT_MASTERING, progress: bool = True,
                  max_frames: int | None = None, notify: Callable[[str], None] = print,
                  lut: bool | None = None, x265_params: str = "", settings: Settings | None = None) -> ConvertReport:
    """Convert an SDR video to HDR10 HEVC; audio and subtitles are copied; the output appears only when complete.

    ``lut``: run a classical mapping on 8-bit 4:2:0 sources through a code-value table (engine.lut; True), per
    pixel in float (False), or the table when the clip is long enough to repay building it (None).
    ``settings``: the request's encoding settings (codec, transfer, ...), which then replace the keywords above.
    """
    src, dst = check_convert_paths(src, dst, overwrite, image=False)
    if settings is None:
        settings = Settings(crf=crf, qp=qp, preset=preset, peak_nits=mastering.max_nits, lut=lut,
                            x265_params=x265_params)
    mastering, lut = settings.mastering, settings.lut
    with VideoReader(src) as reader:
        report = _start(reader, dst, mapper, notify)
        report.delivery = delivery_label(settings.codec, settings.transfer)
        total = estimate_frames(reader.info)
        if max_frames:
            total = min(total or max_frames, max_frames)
        t0 = time.perf_counter()  # the table's build counts in the total
        fast = fast_path(mapper, reader.info, total, False if reader.needs_gamut_conversion else lut, report)
        plus: list = []  # the HDR10+ JSON export, written beside the output once it has its name

        def write(tmp: str) -> None:
            writer = _writer(tmp, reader, report, settings, mastering, copy=True)
            _encode_span(reader, writer, mapper, fast, report, mastering.max_nits, patch=True, rotation=True,
                         total=total, progress=progress, max_frames=max_frames)
            if writer.hdr10plus_json is not None:
                plus.append(writer.hdr10plus_json)
            for note in writer.dropped:
                report.notes.append(note)
                notify(f"warning: {note}")

        with _threads(mapper, fast):
            write_atomic(dst, write, overwrite)
        if plus:
            report.notes.append(f"HDR10+ metadata: {write_hdr10plus_json(dst, plus[0])}")
        report.seconds["total"] = time.perf_counter() - t0
        _closing_notes(reader, fast, report, notify)
    return report


def _start(reader: VideoReader, dst: Path, mapper: StreamMapper, notify: Callable[[str], None]) -> ConvertReport:
    """The job's report with the output size; refuses what x265 cannot encode, notes crops and gamut changes."""
    info = reader.info
    report = ConvertReport(dst)
    w, h = even_size(info.width, info.height)
    if (w, h) != (info.width, info.height):
        sides = " and ".join(side for side, odd in (("column", w != info.width), ("row", h != info.height)) if odd)
        _note(report, notify, "note", f"{info.width}x{info.height} has an odd side; 4:2:0 needs even sizes, so "
                                      f"the last {sides} is cropped: output {w}x{h}")
    report.width, report.height = w * mapper.scale, h * mapper.scale
    if min(report.width, report.height) < MIN_SIDE:
        raise InputError(f"the picture is {info.width}x{info.height}, too small for HEVC (x265 needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE}); scale it up first, e.g. ffmpeg -i IN -vf scale=-2:64 OUT")
    if reader.alpha:
        _note(report, notify, "note", "the input's alpha channel (transparency) is dropped: HDR10 video has none")
    if reader.needs_gamut_conversion:
        _note(report, notify, "note", "the input is tagged with BT.2020 primaries: its colours are taken to BT.709 "
                                      "for the mapping (colours outside BT.709 are clipped) and come back out in "
                                      "BT.2020")
    return report


def _note(report: ConvertReport, notify: Callable[[str], None], kind: str, note: str) -> None:
    report.notes.append(note)
    notify(f"{kind}: {note}")


def _closing_notes(reader: VideoReader, fast: Any, report: ConvertReport, notify: Callable[[str], None]) -> None:
    """What the user should know once the file is written: interlaced input, what the code table did."""
    if reader.interlaced:
        _note(report, notify, "warning", "the input is interlaced; it was converted frame by frame without "
                                         "deinterlacing (deinterlace it first, e.g. ffmpeg -vf bwdif, for a "
                                         "progressive HDR result)")
    if reader.before_start:
        _note(report, notify, "note", f"{reader.before_start} frame(s) before the start of the stream (negative "
                                      f"timestamps that the container does not keep) are left out, as players do")
    summary = fast.summary() if fast is not None else None
    if summary:
        report.notes.append(summary)


def convert_span(reader: VideoReader, dst: str | os.PathLike, mapper: StreamMapper, span: tuple, *,
                 film_frames: int | None, settings: Settings, state: dict | None = None,
                 bar: Progress | None = None, cache: dict | None = None) -> tuple[ConvertReport, dict | None]:
    """One segment of a film (frames with start <= pts < end) to its own HEVC file, for engine.segments.

    The piece has no other streams and keeps the sentinel MaxCLL/MaxFALL (the joined film is patched with the
    maximum over pieces). The table decision uses the whole film's length, and a stateful mapper (or its table)
    starts from ``state`` (the previous segment's end), so each frame maps as in a one-piece run. Returns the
    report and the state after the last frame (None for stateless mappers). ``cache``: a dict kept between the
    pieces of one process, so a code table is built once and not again for each piece.
    """
    w, h = even_size(reader.info.width, reader.info.height)
    report = ConvertReport(Path(dst), width=w * mapper.scale, height=h * mapper.scale)
    lut = False if reader.needs_gamut_conversion else settings.lut  # tables read Y'CbCr without that conversion
    # the cache keeps the mapper itself, so its id cannot be reused by another mapper while the entry lives
    key = (id(mapper), str(reader.path), lut, film_frames)
    if cache is not None and cache.get("key") == key:
        fast = cache["fast"]
    else:
        fast = fast_path(mapper, reader.info, film_frames, lut, report)
        if cache is not None:
            cache.clear()
            cache.update(key=key, mapper=mapper, fast=fast)
    stateful = stateful_part(mapper, fast)
    stateful.resume(state)  # the mapper may come from a piece before
    writer = _writer(dst, reader, report, settings, settings.mastering, copy=False)
    with _threads(mapper, fast):
        _encode_span(reader, writer, mapper, fast, report, settings.peak_nits, patch=False, total=None,
                     progress=False, max_frames=None, items=reader.span(*span), bar=bar)
    return report, (stateful.tracker.state() if stateful.tracker is not None else None)


def stateful_part(mapper: StreamMapper, fast: Any) -> Any:
    """What carries the temporal state through a film: the code table when it has a tracker, else the mapper."""
    return fast if fast is not None and fast.tracker is not None else mapper
