"""Quality metrics for HDR predictions, computed as the papers compute them, each tested against a reference.

Every metric takes ``pred`` and ``ref`` as PQ BT.2020 R'G'B' in [0, 1]: torch (N, 3, H, W) or (3, H, W), or numpy
(H, W, 3) / (N, H, W, 3), and returns one value per image ((N,) tensor; numpy in, numpy out; 0-d for one image).

Modules: ``fidelity`` (psnr, mse, mpsnr), ``structure`` (ssim, ms_ssim), ``colour_difference`` (delta_e_itp),
``perceptual`` (vifp, haarpsi, vsi), ``video_vdp`` (cvvdp_jod), ``registry`` (METRICS, compute_all, summarise).
Aggregate per-image values with ``nan_mean``: VSI and mPSNR can be undefined (NaN) for an image.
"""

from ._inputs import nan_mean
from .colour_difference import delta_e_itp
from .fidelity import mpsnr, mse, psnr
from .perceptual import haarpsi, vifp, vsi
from .registry import METRICS, PAPER_METRICS, MetricInfo, compute_all, summarise
from .structure import ms_ssim, ms_ssim_scales, ssim
from .video_vdp import cvvdp_jod

__all__ = [
    "psnr", "mse", "mpsnr", "ssim", "ms_ssim", "ms_ssim_scales", "delta_e_itp", "vifp", "haarpsi", "vsi",
    "cvvdp_jod", "METRICS", "PAPER_METRICS", "MetricInfo", "compute_all", "summarise", "nan_mean",
]
