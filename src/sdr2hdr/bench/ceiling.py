"""Fitted ceilings: the best global mapping of one clip, fitted to its master (an oracle no converter has).

Two families, each fitted per clip on the coded SDR frames against the HDR target (in PQ) and scored on the same
frames, so they bound what a global mapping of that family could reach on that clip:
- fit_lut33: a 33-point 3D LUT (trilinear), least squares with a small smoothness term that fills the cells the
  clip never visits;
- fit_family: the default model's own mapping (models.adaptive_itm.GlobalInverse, its N_PARAMS parameters), by
  Adam on L1 in PQ, the training loss.

- ceiling_runs(peak_pq) -> {"ceiling_family": fn, "ceiling_lut33": fn}; fn(frames, target) -> outputs (PQ)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["fit_lut33", "fit_family", "ceiling_runs", "apply_lut"]

N = 33


def _trilinear(rgb: np.ndarray, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """(P, 8) node indices and weights of each pixel's trilinear interpolation in an n^3 lattice over [0, 1]^3."""
    x = np.clip(rgb.reshape(-1, 3).astype(np.float64), 0.0, 1.0) * (n - 1)
    i0 = np.minimum(np.floor(x).astype(np.int64), n - 2)
    f = x - i0
    idx, wts = [], []
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                d = np.array([dr, dg, db])
                node = i0 + d
                idx.append((node[:, 0] * n + node[:, 1]) * n + node[:, 2])
                wts.append(np.prod(np.where(d == 1, f, 1.0 - f), axis=1))
    return np.stack(idx, 1), np.stack(wts, 1)


def _laplacian(n: int):
    """The lattice's graph Laplacian (6-neighbour), sparse."""
    import scipy.sparse as sp

    lap1 = sp.diags([np.r_[1.0, 2.0 * np.ones(n - 2), 1.0], -np.ones(n - 1), -np.ones(n - 1)], [0, -1, 1])
    eye = sp.identity(n)
    return (sp.kron(sp.kron(lap1, eye), eye) + sp.kron(sp.kron(eye, lap1), eye) +
            sp.kron(sp.kron(eye, eye), lap1)).tocsc()


def fit_lut33(sdr: list[np.ndarray], target: list[np.ndarray], smooth: float = 1e-3) -> np.ndarray:
    """(33, 33, 33, 3) PQ LUT minimising the squared error of its trilinear look-up of `sdr` against `target`."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import cg

    idx, w = _trilinear(np.stack(sdr))
    p = idx.shape[0]
    a = sp.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, 8 * p + 1, 8)), shape=(p, N ** 3))
    b = np.stack(target).reshape(-1, 3).astype(np.float64)
    # the smoothness term is weighted by the pixel count so that it means the same for any clip size
    lhs = (a.T @ a + smooth * p / N ** 3 * _laplacian(N)).tocsr()
    rhs = np.asarray(a.T @ b)
    # conjugate gradients from a flat start at the clip's mean, Jacobi-preconditioned: a direct solve of the
    # 33^3 system takes ten times longer for the same figure
    diag = lhs.diagonal()
    pre = sp.diags(1.0 / np.maximum(diag, 1e-12))
    sol = np.stack([cg(lhs, rhs[:, k], x0=np.full(N ** 3, b[:, k].mean()), M=pre, rtol=1e-6, maxiter=400)[0]
                    for k in range(3)], 1)
    return sol.reshape(N, N, N, 3).astype(np.float32)


def apply_lut(lut: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Trilinear look-up of R'G'B' frames in an (n, n, n, 3) LUT."""
    n = lut.shape[0]
    idx, w = _trilinear(rgb, n)
    flat = lut.reshape(-1, 3)
    return (flat[idx] * w[..., None]).sum(1).reshape(rgb.shape).astype(np.float32)


def fit_family(sdr: list[np.ndarray], target: list[np.ndarray], steps: int = 300, pixels: int = 30000,
               seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """The default model's global mapping with its parameters fitted to the clip: a pixel function R'G'B' -> PQ."""
    import torch

    from sdr2hdr.color.transfer import pq_inverse_eotf
    from sdr2hdr.models.adaptive_itm import N_PARAMS, GlobalInverse

    rng = np.random.default_rng(seed)
    x = np.stack(sdr).reshape(-1, 3)
    y = np.stack(target).reshape(-1, 3)
    pick = rng.choice(len(x), size=min(pixels, len(x)), replace=False)
    xt = torch.from_numpy(x[pick].astype(np.float32)).T[None]
    yt = torch.from_numpy(y[pick].astype(np.float32)).T[None]
    feats = GlobalInverse.features(xt)
    params = torch.zeros(1, N_PARAMS, requires_grad=True)
    opt = torch.optim.Adam([params], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        pq = pq_inverse_eotf(GlobalInverse.from_features(feats, params).clamp(0.0, 10000.0))
        loss = (pq - yt).abs().mean()
        loss.backward()
        opt.step()
    fitted = params.detach()

    def fn(rgb: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).reshape(-1, 3).T[None]
            pq = pq_inverse_eotf(GlobalInverse.from_features(GlobalInverse.features(t), fitted).clamp(0, 10000.0))
        return pq[0].T.reshape(rgb.shape).numpy()

    return fn


def ceiling_runs(peak_pq: float) -> dict[str, Callable[[list[np.ndarray], list[np.ndarray]], list[np.ndarray]]]:
    """The two ceilings as runs over a clip's frames given its target, limited to the peak like every method."""
    def lut(frames, target):
        table = fit_lut33(frames, target)
        return [np.clip(apply_lut(table, f), 0.0, peak_pq) for f in frames]

    def family(frames, target):
        fn = fit_family(frames, target)
        return [np.clip(fn(f), 0.0, peak_pq) for f in frames]

    return {"ceiling_family": family, "ceiling_lut33": lut}
