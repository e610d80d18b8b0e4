"""The level convention: where the HDR output's mid-tones land, after ITU-R BT.2408's reference levels.

BT.2408 puts HDR reference white at 203 cd/m2 and an 18 % grey card at 26 cd/m2. An SDR picture coded with BT.709
and shown on a BT.1886 display (100 cd/m2 white) shows that grey card at code 0.409, 11.7 % of white. The rule:
the output's median luminance is the SDR picture's median BT.1886 light, relative to SDR white, times
MIDDLE_GREY / SDR_GREY. A normally exposed grey card lands at 26 cd/m2, SDR white near 222 cd/m2, and a dark (dusk)
or bright picture stays as dark or bright as its SDR shows it: the level follows the picture, not a learned average.
`--middle-grey NITS` moves the grey card (and with it the whole picture) to NITS.

- MIDDLE_GREY, SDR_GREY
- sdr_median_light(rgb) -> median relative luminance (1 = SDR white) of SDR R'G'B' frames, numpy or torch
- level_target(median_light, middle_grey) -> the output's median luminance in cd/m2
"""

from __future__ import annotations

from typing import Any

MIDDLE_GREY = 26.0  # cd/m2, BT.2408's 18 % grey card in HDR
# an 18 % reflectance through the BT.709 OETF (1.099 L^0.45 - 0.099 = 0.409), shown by BT.1886 (^2.4)
SDR_GREY = (1.099 * 0.18 ** 0.45 - 0.099) ** 2.4
_Y709 = (0.2126, 0.7152, 0.0722)

__all__ = ["MIDDLE_GREY", "SDR_GREY", "level_target", "sdr_median_light"]


def sdr_median_light(rgb: Any, channel_axis: int = -1) -> Any:
    """Median BT.1886 relative luminance of SDR R'G'B' in [0, 1]; torch (N,3,...) -> (N,), numpy (...,3) -> float."""
    try:
        import torch
    except ImportError:  # pragma: no cover - the numpy path needs no torch
        torch = None
    if torch is not None and isinstance(rgb, torch.Tensor):
        s = rgb.float().clamp(0, 1).pow(2.4)
        w = torch.tensor(_Y709, device=s.device).view(1, 3, *(1,) * (s.dim() - 2))
        return (s * w).sum(1).flatten(1).median(1).values
    import numpy as np

    s = np.clip(np.asarray(rgb, dtype=np.float32), 0, 1) ** 2.4
    return float(np.median(np.moveaxis(s, channel_axis, -1) @ np.asarray(_Y709, dtype=np.float32)))


def level_target(median_light: Any, middle_grey: float = MIDDLE_GREY) -> Any:
    """The output's median luminance (cd/m2) for an SDR picture whose median relative light is `median_light`."""
    return median_light * (middle_grey / SDR_GREY)
