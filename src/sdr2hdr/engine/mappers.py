"""Which frame mapper a request selects, and the factories that make them (importable without torch).

- make_mapper(request, notify) -> Choice: the mapper the options select and whether a code table may stand in
- classical_mapper(method, peak_nits, exposure) -> a stream mapper for BT.2408 / BT.2446 A / BT.2446 C (numpy only)
- model_mapper(name, weights, device, precision, tile, peak_nits, exposure) -> a registered model (imports torch)
The exposure trim and peak limit every per-pixel mapping shares are engine.look's (peak_limited, exposure_note).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdr2hdr.color import pq_code
from sdr2hdr.engine.look import exposure_note, peak_limited
from sdr2hdr.engine.stream import ClassicalStream, StreamMapper
from sdr2hdr.errors import InputError

if TYPE_CHECKING:
    from sdr2hdr.engine.look import Look
    from sdr2hdr.engine.request import ConvertRequest


def classical_mapper(method: str, peak_nits: float = 1000.0, exposure: float = 0.0,
                     look: Look | None = None) -> ClassicalStream:
    """One of the standard non-learned SDR->HDR mappings, limited to the mastering peak (hard clip in cd/m2).

    exposure: a brightness trim in stops on the mapping's light, before the peak limit; look: engine.look.Look.
    """
    from sdr2hdr.engine.look import with_look
    from sdr2hdr.tonemap import INVERSE_MAPPINGS

    if method not in INVERSE_MAPPINGS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(sorted(INVERSE_MAPPINGS))}")
    pq_peak = pq_code(peak_nits)
    note = exposure_note(exposure) + (look.note() if look is not None else "")
    return ClassicalStream(method, with_look(peak_limited(INVERSE_MAPPINGS[method], pq_peak, exposure), look, pq_peak),
                           f"{method} (classical, peak {peak_nits:g} cd/m2{note})")


def model_mapper(name: str, weights: str | os.PathLike | None = None, device: str = "auto",
                 precision: str = "fp32", tile: int | None = 512, peak_nits: float = 1000.0,
                 exposure: float = 0.0, middle_grey: float | None = None) -> StreamMapper:
    """A registered model with its weights (shipped ones by default) as a stream mapper (exposure: a trim in
    stops on its output light, before the peak limit; middle_grey: the level convention's grey card in cd/m2,
    color.level, for adaptive_itm; None: the level it estimates)."""
    from sdr2hdr.engine.infer import ModelRunner, ModelStream, pick_device
    from sdr2hdr.models.weights import load_model

    model, path = load_model(name, weights)
    pq_peak = pq_code(peak_nits)
    if hasattr(model, "pq_mapping"):  # adaptive_itm: per-frame global inverse, baked into the code table
        from sdr2hdr.engine.adaptive import AdaptiveStream

        # the grading convention the estimate is asked for: BT.2408 reference white on the display written
        model.target_grade = (model.target_grade[0], float(peak_nits))
        model.exposure = float(exposure)
        model.middle_grey = middle_grey  # the level convention (issue 24): color.level
        return AdaptiveStream(name, model, pq_peak, device=str(pick_device(device)),
                              description=f"{name} ({path.name}, per-frame global inverse{exposure_note(exposure)})")
    runner = ModelRunner(model, device=device, precision=precision, tile=tile, max_value=pq_peak, exposure=exposure)
    return ModelStream(name, runner,
                       f"{name} ({path.name}, {runner.device.type} {precision}{exposure_note(exposure)})")


@dataclass
class Choice:
    """What the options select: the mapper and whether a code table may stand in for it (None: when it pays)."""

    mapper: StreamMapper
    lut: bool | None


def _default_tier(quality: str, quiet: bool, notify: Callable[[str], None]) -> tuple[str | None, bool | None]:
    """The shipped default model for this quality tier, or None when no model is shipped as the default."""
    from sdr2hdr.models import list_models as registered
    from sdr2hdr.models.weights import default_model, shipped_weights

    model = default_model()
    lut = None
    if model is None:
        return None, lut
    if quality == "best" and f"{model}_local" in registered():  # a default without tiers is its own best
        model = f"{model}_local"
        if shipped_weights(model) is None:
            raise InputError(f"--quality best needs weights for {model}, and none are shipped (its local branch "
                             f"has not yet beaten the global model); train them and pass --model {model} "
                             f"--weights FILE")
    elif quality == "balanced":
        lut = False
    if not quiet:
        notify(f"using the shipped model {model} ({quality}; best on the held-out-curve benchmark); "
               f"--method bt2446c is the classical mapping")
    return model, lut


def make_mapper(request: ConvertRequest, notify: Callable[[str], None] = print) -> Choice:
    """The frame mapper the request selects (classical, the default model's tier, --model, informed,
    --calibration), with the look (--saturation, --contrast) and --deband."""
    from sdr2hdr.engine.look import Look, LookStream

    look = Look(request.saturation, request.contrast)
    choice = _select(request, look, notify)
    if request.deband:
        from sdr2hdr.engine.deband import deband

        choice = Choice(LookStream(choice.mapper, pq_code(request.peak_nits), pre=deband, note=", debanded"), False)
    return choice


def _looked(mapper: StreamMapper, look: Look, pq_peak: float) -> StreamMapper:
    """A mapper that is no function of one pixel, with the look on its output frames."""
    from sdr2hdr.engine.look import LookStream

    if look.neutral or isinstance(mapper, ClassicalStream):  # a classical stream has the look in its function
        return mapper
    if hasattr(mapper, "look"):  # adaptive_itm's global inverse: the look goes into its code table
        mapper.look = look
        mapper.description += look.note()
        return mapper
    return LookStream(mapper, pq_peak, look=look, note=look.note())


def _select(request: ConvertRequest, look: Look, notify: Callable[[str], None]) -> Choice:
    r = request
    lut = False if r.exact else None
    pq_peak = pq_code(r.peak_nits)
    if r.calibration is not None:
        from sdr2hdr.engine.calibrate import calibration_mapper

        lut = False if r.exact or r.quality == "balanced" else None
        return Choice(calibration_mapper(r.calibration, r.peak_nits, r.exposure, look), lut)
    if r.source_tmo is not None:
        from sdr2hdr.engine.informed import informed_mapper

        # the restoration sees neighbourhoods: no per-code table
        return Choice(_looked(informed_mapper(r.source_tmo, peak_nits=r.peak_nits, exposure=r.exposure, look=look),
                              look, pq_peak), False)
    model = r.model
    if model is None and r.method is None:
        model, tier_lut = _default_tier(r.quality, r.quiet, notify)
        lut = False if r.exact else tier_lut
    if model is not None:
        return Choice(_looked(model_mapper(model, r.weights, device=r.device, precision=r.precision, tile=r.tile,
                                           peak_nits=r.peak_nits, exposure=r.exposure,
                                           middle_grey=r.middle_grey or None), look, pq_peak), lut)
    return Choice(classical_mapper(r.method or "bt2446c", r.peak_nits, r.exposure, look), lut)
