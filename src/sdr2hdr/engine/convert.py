"""The main job: one ConvertRequest in, an HDR10 video or a PQ/linear HDR image out, through a frame mapper.

- run(request, notify) -> ConvertReport: the cheap path checks, then the mapper the request selects, then the image
  job (engine.image), the video job (engine.video) or the segmented one (engine.segments)

The parts live in their own modules and are named here too, as the engine's one place to import them from:
request and settings (engine.request), path checks (engine.paths), mapper factories (engine.mappers), the report
(engine.report), the image and video jobs (engine.image, engine.video) and the threaded pipeline (engine.pipeline).
Outputs are written under a temporary name beside the destination and renamed only when complete.
"""

from __future__ import annotations

from collections.abc import Callable

from sdr2hdr.engine.image import convert_image
from sdr2hdr.engine.look import exposure_note, peak_limited
from sdr2hdr.engine.mappers import classical_mapper, make_mapper, model_mapper
from sdr2hdr.engine.paths import (
    IMAGE_OUT_EXTENSIONS,
    VIDEO_OUT_EXTENSIONS,
    check_convert_paths,
    check_paths,
    is_image_path,
    joined_record,
)
from sdr2hdr.engine.report import ConvertReport, Progress
from sdr2hdr.engine.request import ConvertRequest, Settings

# and, imported when first named (they load PyAV, which an image or a path check does without): convert_video,
# convert_span, fast_path from engine.video
__all__ = ["ConvertReport", "ConvertRequest", "IMAGE_OUT_EXTENSIONS", "Progress", "Settings",
           "VIDEO_OUT_EXTENSIONS", "check_paths", "classical_mapper", "convert_image", "exposure_note",
           "is_image_path", "model_mapper", "peak_limited", "run"]


def __getattr__(name: str) -> object:
    # PEP 562: the video jobs' names resolve on first use
    if name in ("convert_video", "convert_span", "fast_path"):
        from sdr2hdr.engine import video

        return getattr(video, name)
    raise AttributeError(f"module 'sdr2hdr.engine.convert' has no attribute {name!r}")


def run(request: ConvertRequest, notify: Callable[[str], None] = print) -> ConvertReport:
    """Convert as the request says; every cheap refusal (paths, output type) comes before any model loads."""
    r = request
    image = is_image_path(r.input)
    # a resumed film may already be joined (killed before its work folder went): segments checks that output
    check_convert_paths(r.input, r.output, r.overwrite or r.resume or joined_record(r.output), image=image)
    choice = make_mapper(r, notify)
    mapper = choice.mapper
    journal = not image and not r.segmented and _journaled(r, mapper)
    if image:
        report = convert_image(r.input, r.output, mapper, overwrite=r.overwrite)
    elif r.segmented or journal:
        from sdr2hdr.engine.segments import convert_segmented

        # a journal's pieces: 10 s, or a quarter of the threshold when that is shorter (a video just past it is
        # still more than one piece)
        seconds = r.segment_seconds or (min(10.0, r.journal_after / 4) if journal and r.journal_after else 10.0)
        report = convert_segmented(r.input, r.output, mapper, seconds=seconds, resume=r.resume,
                                   overwrite=r.overwrite, settings=r.settings(choice.lut), progress=not r.quiet,
                                   ray=r.ray, ray_workers=r.ray_workers, journal=journal,
                                   notify=(lambda line: None) if r.quiet else notify)
    else:
        from sdr2hdr.engine.video import convert_video

        settings = r.settings(choice.lut)
        report = convert_video(r.input, r.output, mapper, overwrite=r.overwrite, crf=r.crf, qp=r.qp,
                               preset=r.preset, mastering=settings.mastering, progress=not r.quiet,
                               max_frames=r.max_frames, lut=choice.lut, notify=notify, settings=settings)
    report.mapping = mapper.description
    return report


def _journaled(r: ConvertRequest, mapper: object) -> bool:
    """A plain convert keeps a journal (engine.segments, resumable by running it again) when the video is longer
    than ``journal_after`` seconds, and nothing rules segments out (--max-frames, a multi-frame model, a delivery
    the pieces cannot carry: that film converts in one run, as before)."""
    if r.journal_after is None or r.max_frames or getattr(mapper, "frames", 1) > 1 or not r.pieces_can_carry:
        return False
    from sdr2hdr.io.media import probe

    info = probe(r.input)
    seconds = info.stream_duration_s or info.duration_s
    return seconds is not None and seconds > r.journal_after
