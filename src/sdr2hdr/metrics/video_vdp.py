"""ColorVideoVDP JOD of HDR images and clips, in place of the papers' HDR-VDP (MATLAB), offline on any torch device.

Functions
---------
cvvdp_jod
    Mantiuk et al., "ColorVideoVDP: a visual difference predictor for image, video and display distortions",
    ACM TOG 43(4), 2024; package ``cvvdp`` (module ``pycvvdp``), which ships its display models and calibrated
    parameters, so nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import torch

from ._inputs import as_batch

__all__ = ["cvvdp_jod", "CVVDP_DISPLAY"]

# A 1500 cd/m2 PQ monitor in a dim room (cvvdp's display_models.json): the closest stock display to HDR10 grading.
CVVDP_DISPLAY = "standard_hdr_pq"


@functools.lru_cache(maxsize=4)
def _metric(display: str, device: str):
    # Imported here: pycvvdp pulls in plotting and video-file helpers that only this metric needs. Its import
    # reaches torch.utils.cpp_extension, which warns "No CUDA runtime is found" on CPU machines: irrelevant to
    # a metric that compiles nothing, so that one logger is quietened for the import.
    ext_log = logging.getLogger("torch.utils.cpp_extension")
    level = ext_log.level
    ext_log.setLevel(logging.ERROR)
    try:
        import pycvvdp
    finally:
        ext_log.setLevel(level)

    return pycvvdp.cvvdp(display_name=display, device=torch.device(device), quiet=True)


def _video_batch(x) -> torch.Tensor:
    # (T, 3, H, W) is one clip, (N, T, 3, H, W) a batch of clips; numpy clips are (T, H, W, 3) / (N, T, H, W, 3).
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x)).movedim(-1, -3)
    if t.ndim == 4:
        t = t.unsqueeze(0)
    if t.ndim != 5 or t.shape[2] != 3 or not t.is_floating_point():
        raise ValueError(f"cvvdp_jod: a clip must be a float (T, 3, H, W) or (N, T, 3, H, W) tensor, got "
                         f"{tuple(x.shape)}")
    return t


def cvvdp_jod(pred: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, display: str = CVVDP_DISPLAY,
              fps: float | None = None) -> torch.Tensor:
    """ColorVideoVDP quality in JOD (just-objectionable differences) of ``pred`` against ``ref``.

    Images (``fps`` None): (N, 3, H, W) or (3, H, W) tensors, or numpy (H, W, 3) / (N, H, W, 3); one JOD per image,
    shape (N,) (0-d for a single image). Clips (``fps`` given, frames per second): (T, 3, H, W) for one clip or
    (N, T, 3, H, W) for a batch (numpy: channel last); one JOD per clip, shape (N,), with temporal masking at
    that frame rate.
    The signal is PQ BT.2020 R'G'B' in [0, 1] (clipped to it), shown on ``display`` (a name from cvvdp's
    display_models.json; ``standard_hdr_pq`` peaks at 1500 cd/m2, so light above that is clipped, as such a
    monitor would). Computed on the device of ``pred``, in float32. Range: JOD, 10 for identical content, lower
    is worse (one JOD: 75% of observers prefer the better one); not differentiable here (no_grad).
    """
    if fps is None:
        p, _, p_single = as_batch(pred, "pred")
        r, _, _ = as_batch(ref, "ref")
        dims, rate = "BCHW", 0
    else:
        p, r, p_single = _video_batch(pred), _video_batch(ref), False
        dims, rate = "BFCHW", float(fps)
    if p.shape != r.shape:
        raise ValueError(f"pred and ref differ in shape: {tuple(p.shape)} vs {tuple(r.shape)}")
    metric = _metric(display, str(p.device))
    # cvvdp reads float32 (or integer codes); float64 is refused by its array source.
    p = p.detach().to(torch.float32).clamp(0.0, 1.0)
    r = r.detach().to(torch.float32).clamp(0.0, 1.0)
    with torch.no_grad():
        jod, _ = metric.predict(p, r, dim_order=dims, frames_per_second=rate)
    jod = jod.reshape(-1).to(torch.float32)
    if not isinstance(pred, torch.Tensor):
        jod_np = jod.cpu().numpy()
        return jod_np[0] if p_single else jod_np
    return jod[0] if p_single else jod
