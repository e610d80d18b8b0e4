"""Recognising a standard down-conversion (BT.2446 A, BT.2446 C, BT.2390 at their standard settings) from SDR alone.

Each of these curves leaves a picture-independent trace in the SDR: where highlights pile up below white (the
shoulder), how colour thins towards white (BT.2446 A scales chroma with luma, BT.2390 per R'G'B' channel bends
saturated highlights, BT.2446 C maps luminance and keeps ratios). The features (per frame, averaged over a shot)
are the default model's histograms (models.adaptive_itm.statistics) plus a finer histogram of the top codes and a
joint histogram of luma band and saturation; a multinomial logistic regression says which curve made the shot, or
"other". The switch is conservative: a shot is given the exact inverse only when the probability of that curve is
at least `threshold` (a wrong inverse costs far more than a miss, docs/studies.md).

- CLASSES: the standard curves, then "other"
- shot_features(frames) -> (F,) features of a shot (R'G'B' frames in [0, 1])
- CurveDetector(weights, bias, mean, scale).predict(features) -> (class, probability); fit(...) trains one
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CLASSES", "CurveDetector", "shot_features", "frame_features"]

CLASSES = ("bt2446a", "bt2446c", "bt2390", "other")
TOP_BINS = 24  # the top quarter of codes, finer: where the curves' shoulders differ
SAT_BANDS, SAT_BINS = 8, 8


def frame_features(rgb: np.ndarray) -> np.ndarray:
    """(F,) features of one SDR R'G'B' frame (H, W, 3) in [0, 1]."""
    import torch

    from sdr2hdr.models.adaptive_itm import statistics, views

    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    _, grid = views(x)
    base = statistics(grid)[0].numpy()
    px = np.clip(rgb.reshape(-1, 3)[:: max(1, rgb.shape[0] * rgb.shape[1] // 40000)], 0, 1)
    luma = px @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    mx, mn = px.max(1), px.min(1)
    top = np.histogram(luma, bins=TOP_BINS, range=(0.75, 1.0))[0] / len(luma) * 20.0
    sat = (mx - mn) / np.maximum(mx, 1e-3)
    joint = np.histogram2d(luma, sat, bins=(SAT_BANDS, SAT_BINS), range=((0, 1), (0, 1)))[0]
    joint = joint / np.maximum(joint.sum(1, keepdims=True), 1.0)  # saturation per luma band, picture-independent
    return np.concatenate([base, top, joint.ravel(), _inverse_features(rgb)]).astype(np.float32)


def _inverse_features(rgb: np.ndarray) -> np.ndarray:
    """What each standard curve's exact inverse makes of the picture: a standard down-conversion of a master for a
    1000 cd/m2 display inverts to light that stops near 1000 cd/m2 with a natural spread of highlights, the wrong
    inverse overshoots or bunches them. Percentiles of the inverse's max(R', G', B') and luma in PQ, and the share
    above the 1000 cd/m2 code."""
    from sdr2hdr.color import luminance, pq_code
    from sdr2hdr.tonemap.source_inverse import source_inverse

    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 15000)))
    px = np.ascontiguousarray(rgb[::step, ::step], dtype=np.float32)
    out = []
    for curve in CLASSES[:-1]:
        pq = np.asarray(source_inverse(curve)(px), dtype=np.float32).reshape(-1, 3)
        mx, y = pq.max(1), luminance(pq)[:, 0]
        out += list(np.percentile(mx, [50, 90, 99, 99.9]) * 4) + list(np.percentile(y, [50, 99]) * 4)
        out.append(float((mx > pq_code(1000.0) + 0.01).mean()) * 10)
    return np.asarray(out, dtype=np.float32)


def shot_features(frames: list[np.ndarray]) -> np.ndarray:
    """(F,) the mean of the frames' features: a shot shares one curve."""
    return np.mean([frame_features(f) for f in frames], axis=0)


@dataclass
class CurveDetector:
    """Multinomial logistic regression on standardised shot features."""

    weights: np.ndarray  # (F, C)
    bias: np.ndarray  # (C,)
    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    threshold: float = 0.9

    def proba(self, feats: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(feats) - self.mean) / self.scale) @ self.weights + self.bias
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    def predict(self, feats: np.ndarray) -> tuple[str, float]:
        """The curve to invert exactly, or "other" when no standard curve is at least `threshold` likely."""
        p = self.proba(feats)[0]
        k = int(np.argmax(p))
        if CLASSES[k] == "other" or p[k] < self.threshold:
            return "other", float(p[k])
        return CLASSES[k], float(p[k])

    @classmethod
    def fit(cls, feats: np.ndarray, labels: np.ndarray, l2: float = 1e-2, steps: int = 500,
            threshold: float = 0.9) -> CurveDetector:
        """Train on (N, F) shot features and (N,) class indices into CLASSES (full-batch L-BFGS, L2 penalty)."""
        import torch

        mean, scale = feats.mean(0), feats.std(0) + 1e-3
        x = torch.from_numpy((feats - mean) / scale).float()
        y = torch.from_numpy(labels).long()
        w = torch.zeros(x.shape[1], len(CLASSES), requires_grad=True)
        b = torch.zeros(len(CLASSES), requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ w + b, y) + l2 * (w ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return cls(w.detach().numpy(), b.detach().numpy(), mean, scale, threshold)

    def save(self, path: str | Path) -> None:
        """As JSON (small: a few thousand numbers), so it ships beside the weights."""
        Path(path).write_text(json.dumps({"classes": CLASSES, "threshold": self.threshold,
                                          **{k: getattr(self, k).tolist() for k in ("weights", "bias", "mean",
                                                                                     "scale")}}))

    @classmethod
    def load(cls, path: str | Path) -> CurveDetector:
        d = json.loads(Path(path).read_text())
        return cls(*(np.asarray(d[k], dtype=np.float32) for k in ("weights", "bias", "mean", "scale")),
                   threshold=float(d["threshold"]))
