"""The threaded pipeline under every video job: decode and map in a worker thread while the main thread encodes.

x265 and numpy both release the GIL, so the two threads overlap; a bounded queue between them keeps memory flat.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import av
import numpy as np

from sdr2hdr.color import limit_luma_420, rgb_to_yuv420
from sdr2hdr.engine.lut import supports
from sdr2hdr.engine.report import ConvertReport, Progress
from sdr2hdr.engine.stream import StreamMapper
from sdr2hdr.io.frames import frame_plane
from sdr2hdr.io.reader import VideoReader
from sdr2hdr.io.writer import HDR10Writer

_DONE = object()


class _Producer:
    """The worker thread of pipeline(): decode, map and limit each frame, queue it with the packets to copy."""

    def __init__(self, reader: VideoReader, mapper: StreamMapper, fast: Any,
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


def pipeline(reader: VideoReader, writer: HDR10Writer, mapper: StreamMapper, report: ConvertReport,
              total: int | None, progress: bool, max_frames: int | None, w: int, h: int,
              fast: Any = None, pq_peak: float | None = None,
              items: Iterable | None = None, bar: Progress | None = None) -> None:
    """Decode and map in a worker thread while the main thread encodes: x265 and numpy both release the GIL.

    ``fast``: the mapper baked into a code table, used on the frames it covers (8-bit 4:2:0) instead of the mapper.
    ``items``: what to read instead of the whole of ``reader.items()``; ``bar``: a progress bar owned by the caller.
    """
    producer = _Producer(reader, mapper, fast, pq_peak, (w, h), report.seconds, max_frames)
    worker = threading.Thread(target=producer.run, args=(reader.items() if items is None else items,),
                              name="sdr2hdr-decode", daemon=True)
    own_bar = bar is None
    bar = Progress(total, progress) if own_bar else bar
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
