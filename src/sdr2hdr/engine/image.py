"""The image job: an SDR still to a 16-bit PQ PNG or a linear BT.2020 EXR in cd/m2."""

from __future__ import annotations

import os
import time

import numpy as np

from sdr2hdr.color import pq_eotf
from sdr2hdr.engine.paths import check_convert_paths
from sdr2hdr.engine.report import ConvertReport
from sdr2hdr.engine.stream import StreamMapper
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import read_image, write_exr, write_png16


def convert_image(src: str | os.PathLike, dst: str | os.PathLike, mapper: StreamMapper,
                  overwrite: bool = False) -> ConvertReport:
    """SDR still (8-bit PNG, JPEG, ...) -> 16-bit PQ PNG or linear BT.2020 EXR in cd/m2."""
    src, dst = check_convert_paths(src, dst, overwrite, image=True)
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
