"""Training losses: the papers' pixel losses and the weighted sum of main and auxiliary terms.

Defines:
    pixel_loss(kind, pred, target)   l1 (KPNet, DIDNet, HDRTVNet), l2 (Deep SR-ITM, GPGMNet),
                                     tanh_l1 / tanh_l2 (HDRUNet).
    TrainingLoss(cfg)                callable: (outputs dict, batch dict) -> (total, {term name: value}).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import LossConfig


def pixel_loss(kind: str, pred: Tensor, target: Tensor) -> Tensor:
    """Mean pixel loss between two tensors of the same shape."""
    if pred.shape != target.shape:
        raise ValueError(f"loss: prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if kind == "l1":
        return F.l1_loss(pred, target)
    if kind == "l2":
        return F.mse_loss(pred, target)
    if kind == "tanh_l1":
        # HDRUNet: tanh compresses large errors in bright regions, so highlights do not dominate the gradient
        return F.l1_loss(torch.tanh(pred), torch.tanh(target))
    if kind == "tanh_l2":
        return F.mse_loss(torch.tanh(pred), torch.tanh(target))
    raise ValueError(f"unknown loss {kind!r}")


class TrainingLoss:
    """main_weight * loss(main, hdr) + sum of weight * loss(aux output, its target) (DIDNet: 0.8 / 0.2)."""

    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg

    @property
    def term_names(self) -> list[str]:
        """Names of the logged terms, main first."""
        return ["main", *(a.output for a in self.cfg.aux)]

    def __call__(self, outputs: dict[str, Tensor], batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.cfg
        terms = {"main": pixel_loss(cfg.kind, outputs["main"], batch["hdr"])}
        total = cfg.main_weight * terms["main"]
        for aux in cfg.aux:
            if aux.target not in batch:
                raise KeyError(f"the {aux.output} loss needs {aux.target!r} in every batch; the data set gives "
                               f"{', '.join(sorted(batch))}")
            terms[aux.output] = pixel_loss(cfg.kind, outputs[aux.output], batch[aux.target])
            total = total + aux.weight * terms[aux.output]
        return total, terms
