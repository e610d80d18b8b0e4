"""Training and test data: HDR sources, virtual cameras, degradations, manifests and torch datasets.

Modules: ``sources`` (starter packages, discovery of user HDR stills and HDR10 videos), ``camera`` (virtual camera
over stills and panoramas), ``degrade`` (exposure, mastering, TMOs, gamut, 8 bits, x265), ``resize`` (MATLAB
imresize bicubic), ``recipe`` (the typed build recipe), ``build`` (plan, clips, manifests, resume), ``datasets``
(PairDataset, ClipDataset), ``show`` (contact sheet), ``commands`` (the `sdr2hdr data` CLI).
The torch datasets are imported on first use, so building data does not load torch.
"""

from sdr2hdr.data.recipe import Recipe

__all__ = ["Recipe", "PairDataset", "ClipDataset", "BuiltSet"]


def __getattr__(name: str):
    if name in ("PairDataset", "ClipDataset", "BuiltSet"):
        from sdr2hdr.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'sdr2hdr.data' has no attribute {name!r}")
