"""nn.Conv2d's default initialisation, for layers that hold their own convolution weight and bias."""

from __future__ import annotations

import math

from torch import Tensor, nn


def init_like_conv2d(weight: Tensor, bias: Tensor | None) -> None:
    """Initialise weight (out, in, kh, kw) and bias in place exactly as nn.Conv2d.reset_parameters does.

    Same calls in the same order, so the random stream moves as a plain conv's would: a layer with neutral
    modulation starts as that conv.
    """
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(bias, -bound, bound)
