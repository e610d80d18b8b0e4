"""Informed mode (convert --source-tmo NAME): the known curve's exact inverse, then the learned restoration.

With shipped weights for informed_<NAME> the mapper runs InformedITM (exact inverse + RestorationNet, tiled like
any model); without them, the exact inverse alone, said in the mapper's description.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdr2hdr.engine.look import Look
    from sdr2hdr.engine.stream import StreamMapper

from sdr2hdr.errors import InputError

__all__ = ["informed_mapper"]


def informed_mapper(name: str, peak_nits: float = 1000.0, device: str = "auto", tile: int | None = 512,
                    exposure: float = 0.0, look: Look | None = None) -> StreamMapper:
    """A stream mapper for SDR made from HDR by curve `name` (one of tonemap.source_inverse.SOURCE_TMOS); exposure
    is a trim in stops on its output light; look (engine.look.Look) goes into the exact inverse when it runs
    alone (with the restoration, the caller applies it to the output frames)."""
    from sdr2hdr.color import pq_code
    from sdr2hdr.engine.look import exposure_note, peak_limited
    from sdr2hdr.engine.stream import ClassicalStream
    from sdr2hdr.models.weights import load_weights, shipped_weights
    from sdr2hdr.tonemap.source_inverse import SOURCE_TMOS, source_inverse

    if name not in SOURCE_TMOS:
        raise InputError(f"unknown --source-tmo {name!r}; choose one of {', '.join(SOURCE_TMOS)}")
    pq_peak = pq_code(peak_nits)
    weights = shipped_weights(f"informed_{name}")
    if weights is None:
        from sdr2hdr.engine.look import with_look

        note = exposure_note(exposure) + (look.note() if look is not None else "")
        return ClassicalStream(name, with_look(peak_limited(source_inverse(name), pq_peak, exposure), look, pq_peak),
                               f"exact inverse of {name} (no restoration weights shipped{note})")
    from sdr2hdr.engine.infer import ModelRunner, ModelStream
    from sdr2hdr.models import create

    model = create(f"informed_{name}")
    load_weights(model, weights)
    runner = ModelRunner(model, device=device, tile=tile, max_value=pq_peak, exposure=exposure)
    return ModelStream(f"informed_{name}", runner,
                       f"exact inverse of {name} + restoration ({weights.name}{exposure_note(exposure)})")
