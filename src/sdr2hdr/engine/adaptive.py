"""adaptive_itm on video: one global estimate per frame, smoothed over time, reset at cuts, baked into the code table.

adaptive_itm's global inverse is a function of one pixel (models.adaptive_itm), so for 8-bit 4:2:0 sources the
converter evaluates it once over all 2^24 Y'CbCr codes (engine.lut.CodeLUT) and then converts each frame with
two table look-ups, as fast as a classical mapping. Per frame it only reads the prior's fixed-size views straight
from the Y'CbCr planes (a 64x64 area thumbnail and a 128x128 pixel grid, no full R'G'B' frame) and runs the tiny
estimator.

Temporal stability: the estimate is an exponential moving average (half-life `half_life` frames); a scene cut
(the grid's luma histogram jumps) resets it. The table is rebuilt at the first frame, at each cut, and when the
smoothed mapping has drifted more than `drift_codes` 10-bit codes from the baked one on a lattice of probe
colours (at most once every `min_gap` frames), so a steady shot keeps one table and cannot flicker.

Classes
- PriorTracker: smoothing, cut detection, drift test (shared by both paths below)
- AdaptiveTable: the code-table path for 8-bit 4:2:0 frames
- AdaptiveStream: the float path (other pixel formats, stills, `--exact`, and the local branch), a StreamMapper;
  it maps each frame with the mapping the table path would have baked, so the two paths agree
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sdr2hdr.color import decode_ycbcr, ycbcr_to_rgb
from sdr2hdr.engine.lut import CodeLUT, supports
from sdr2hdr.engine.stream import StreamMapper

if TYPE_CHECKING:
    from sdr2hdr.engine.look import Look

__all__ = ["PriorTracker", "AdaptiveTable", "AdaptiveStream", "views_from_planes"]

CUT_DISTANCE = 1.0  # L1 distance of normalised 32-bin luma histograms (0..2) above which frames are a cut


def _probe() -> torch.Tensor:
    g = torch.linspace(0, 1, 9)
    r, gg, b = torch.meshgrid(g, g, g, indexing="ij")
    return torch.stack([r.flatten(), gg.flatten(), b.flatten()])[None]  # (1, 3, 729)


class PriorTracker:
    """Per-frame estimates in, the smoothed estimate out; says when the baked mapping must be rebuilt."""

    def __init__(self, model: nn.Module, half_life: float = 12.0, drift_codes: float = 6.0, min_gap: int = 96) -> None:
        self.model = model
        self.k = 1.0 - 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0
        self.drift = drift_codes / 1023.0
        self.min_gap = min_gap
        self.smooth: torch.Tensor | None = None
        self.baked: torch.Tensor | None = None
        self.hist: torch.Tensor | None = None
        self.since_build = 0
        self.cuts = 0
        self.builds = 0
        self.probe = _probe()

    def _pq(self, params: torch.Tensor) -> torch.Tensor:
        return self.model.global_pq(self.probe, params)

    def reset(self) -> None:
        """Forget the history, as at the first frame of a film."""
        self.smooth = self.baked = self.hist = None
        self.since_build = 0

    def state(self) -> dict:
        """Everything that carries from one frame to the next, as plain lists (JSON keeps float32 values exactly)."""
        def plain(t):
            return None if t is None else {"shape": list(t.shape), "values": t.flatten().tolist()}

        return {"smooth": plain(self.smooth), "baked": plain(self.baked), "hist": plain(self.hist),
                "since_build": self.since_build}

    def load_state(self, state: dict) -> None:
        """Continue from a state() taken elsewhere: a segment of a film starts where the previous one ended."""
        def tensor(d):
            return None if d is None else torch.tensor(d["values"], dtype=torch.float32).reshape(d["shape"])

        self.smooth, self.baked, self.hist = tensor(state["smooth"]), tensor(state["baked"]), tensor(state["hist"])
        self.since_build = int(state["since_build"])

    @torch.inference_mode()
    def update(self, thumb: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """(smoothed params, rebuild?) after one frame's views."""
        # the views are made on the CPU; the estimator runs where the model lives, the tracker keeps CPU tensors
        dev = next(self.model.estimator.parameters()).device
        params = self.model.estimate(thumb.to(dev), grid.to(dev)).cpu()
        luma = (torch.tensor([0.2126, 0.7152, 0.0722])[None, :, None] * grid).sum(1).clamp(0, 1)
        hist = torch.histc(luma, 32, 0, 1) / luma.numel()
        cut = self.hist is not None and float((hist - self.hist).abs().sum()) > CUT_DISTANCE
        self.hist = hist
        if self.smooth is None or cut:
            self.smooth = params
            self.cuts += int(cut)
        else:
            self.smooth = self.smooth + self.k * (params - self.smooth)
        self.since_build += 1
        rebuild = self.baked is None or cut
        if not rebuild and self.since_build >= self.min_gap:
            rebuild = float((self._pq(self.smooth) - self._pq(self.baked)).abs().max()) > self.drift
        if rebuild:
            self.baked = self.smooth.clone()
            self.since_build = 0
            self.builds += 1
        return self.smooth, rebuild


def views_from_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str, full_range: bool,
                      bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """The prior's two views (models.adaptive_itm.views) from 4:2:0 Y'CbCr planes, without a full R'G'B' frame.

    The thumbnail averages Y', Cb and Cr and converts the averages (the conversion is affine, so this is the
    thumbnail of R'G'B' up to clipping); the grid converts only its own pixels.
    """
    from sdr2hdr.models.adaptive_itm import THUMB, grid_index

    def pool(p):
        t = torch.from_numpy(np.ascontiguousarray(p)).float()[None, None]
        return F.adaptive_avg_pool2d(t, (THUMB, THUMB))[0, 0].numpy()

    # luma subsampled 2x2 before pooling, like chroma: a 64-pixel thumbnail does not see the difference, and it
    # quarters the cost (about 20 ms -> 6 ms at 1080p)
    thumb = np.stack([pool(y[::2, ::2]), pool(u), pool(v)], -1)
    H, W = y.shape
    ys, xs = grid_index(H).numpy(), grid_index(W).numpy()
    grid = np.stack([y[ys][:, xs], u[ys // 2][:, xs // 2], v[ys // 2][:, xs // 2]], -1).astype(np.float32)

    def rgb(codes):
        return np.clip(ycbcr_to_rgb(decode_ycbcr(codes, bits=bits, full_range=full_range, axis=-1), matrix=matrix,
                                    axis=-1), 0.0, 1.0).astype(np.float32)

    t = torch.from_numpy(rgb(thumb)).permute(2, 0, 1)[None]
    g = torch.from_numpy(rgb(grid)).permute(2, 0, 1).flatten(1)[None]
    return t, g


class AdaptiveTable:
    """adaptive_itm on 8-bit 4:2:0 planes through a code table rebuilt only when the smoothed mapping moves."""

    def __init__(self, model: nn.Module, matrix: str, full_range: bool, pq_peak: float, look: Look | None = None,
                 **tracker: float) -> None:
        self.model, self.matrix, self.full_range, self.pq_peak = model.eval(), matrix, full_range, pq_peak
        self.look = look  # engine.look.Look, baked into the table with the mapping
        self.tracker = PriorTracker(model, **tracker)
        self.table: CodeLUT | None = None
        self.build_seconds = 0.0
        self._features: dict = {}
        self._table_params: torch.Tensor | None = None  # what the table was last built for

    def _fn(self, params: torch.Tensor):
        from sdr2hdr.engine.look import with_look

        mapping = self.model.pq_mapping(params, self._features)
        peak = self.pq_peak
        return with_look(lambda rgb: np.minimum(mapping(rgb), peak), self.look, peak)

    def observe(self, Y: np.ndarray, U: np.ndarray, V: np.ndarray) -> None:
        """Advance the tracker over one frame without mapping it (the state before a later segment)."""
        self.tracker.update(*views_from_planes(Y, U, V, self.matrix, self.full_range))

    def resume(self, state: dict | None) -> None:
        """Continue from a tracker state (None: a fresh start); the table is made at once for the mapping baked
        before it, unless it already holds exactly that mapping (the previous segment in the same process)."""
        if state is None:
            self.tracker.reset()
            return
        self.tracker.load_state(state)
        baked = self.tracker.baked
        if baked is None or (self.table is not None and self._table_params is not None
                             and torch.equal(self._table_params, baked)):
            return
        self._bake(baked)

    def _bake(self, params: torch.Tensor) -> None:
        """The code table for ``params``: made on first use, rebuilt in place after (its decoded codes kept)."""
        if self.table is None:
            self.table = CodeLUT(self._fn(params), matrix=self.matrix, full_range=self.full_range, keep_rgb=True,
                                 chroma_step=2)
        else:
            self.table.rebuild(self._fn(params))
        self._table_params = params.clone()

    def summary(self) -> str:
        """What the table did over the clip, for the conversion's report."""
        return f"global inverse baked {self.tracker.builds} time(s) ({self.build_seconds:.1f} s), " \
               f"{self.tracker.cuts} scene cut(s)"

    def __call__(self, Y: np.ndarray, U: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import time

        thumb, grid = views_from_planes(Y, U, V, self.matrix, self.full_range)
        params, rebuild = self.tracker.update(thumb, grid)
        if rebuild:
            t = time.perf_counter()
            self._bake(params)
            self.build_seconds += time.perf_counter() - t
        return self.table(Y, U, V)


class AdaptiveStream(StreamMapper):
    """adaptive_itm per pixel in float over R'G'B' frames, with the same smoothing (stills: one estimate)."""

    look = None  # engine.look.Look on the output, set by engine.mappers (in the code table too)

    def __init__(self, name: str, model: nn.Module, pq_peak: float, device: str = "cpu", description: str = "",
                 chunk: int = 1 << 20,
                 tile: int = 512, **tracker: float) -> None:
        self.name, self.model, self.pq_peak = name, model.eval().to(device), pq_peak
        self.device = torch.device(device)
        self.description = description or name
        self.tracker = PriorTracker(self.model, **tracker)
        self.chunk, self.tile = chunk, tile

    @torch.inference_mode()
    def _map(self, rgb: np.ndarray, params: torch.Tensor) -> np.ndarray:
        out = self._map_raw(rgb, params)
        if self.look is not None and not self.look.neutral:
            out = np.minimum(self.look(out), self.pq_peak)
        return out

    def _map_raw(self, rgb: np.ndarray, params: torch.Tensor) -> np.ndarray:
        H, W, _ = rgb.shape
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32))
        out = np.empty((H, W, 3), dtype=np.float32)
        if self.model.local is None:
            # per pixel: any split of the frame gives the same result; rows keep memory bounded at 8K
            flat = x.reshape(-1, 3)
            o = out.reshape(-1, 3)
            for i in range(0, flat.shape[0], self.chunk):
                part = flat[i:i + self.chunk].T[None].to(self.device)
                o[i:i + self.chunk] = self.model.global_pq(part, params)[0].T.clamp(0, self.pq_peak).cpu().numpy()
            return out
        # the local branch: tiles with a halo at least its receptive radius, centres kept, so tiling is exact
        halo = int(getattr(self.model, "receptive_radius", 8)) + 2
        xt = x.permute(2, 0, 1)[None]
        t = self.tile
        for y0 in range(0, H, t):
            for x0 in range(0, W, t):
                ya, yb, xa, xb = max(0, y0 - halo), min(H, y0 + t + halo), max(0, x0 - halo), min(W, x0 + t + halo)
                pred = self.model(xt[..., ya:yb, xa:xb].to(self.device), prior=params)
                pred = pred[0, :, y0 - ya:y0 - ya + min(t, H - y0), x0 - xa:x0 - xa + min(t, W - x0)]
                out[y0:y0 + t, x0:x0 + t] = pred.clamp(0, self.pq_peak).permute(1, 2, 0).cpu().numpy()
        return out

    def _params(self, rgb: np.ndarray) -> torch.Tensor:
        from sdr2hdr.models.adaptive_itm import views

        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        self.tracker.update(*views(x))
        # the mapping the code-table path would use on this frame: the one last baked (first frame, cuts, drift),
        # so both paths give the same pictures and a steady shot keeps one mapping
        return self.tracker.baked.to(self.device)

    def observe(self, rgb: np.ndarray) -> None:
        """Advance the tracker over one frame without mapping it (the state before a later segment)."""
        self._params(rgb)

    def resume(self, state: dict | None) -> None:
        """Continue from a tracker state (None: a fresh start)."""
        self.tracker.reset() if state is None else self.tracker.load_state(state)

    @property
    def light(self) -> bool:
        """The global inverse per pixel on the CPU is light beside x265; the local branch or a GPU is not."""
        return self.device.type == "cpu" and self.model.local is None

    def code_table(self, pix_fmt: str, matrix: str, full_range: bool, pixels: int | None,
                   lut: bool | None) -> AdaptiveTable | None:
        """Each shot's global inverse baked into the code table: the default path on 8-bit 4:2:0 (any length)."""
        if lut is False or self.model.local is not None or not supports(pix_fmt):
            return None
        return AdaptiveTable(self.model, matrix=matrix, full_range=full_range, pq_peak=self.pq_peak, look=self.look)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """One still: its own estimate, no history."""
        self.tracker.smooth = self.tracker.hist = None
        return self._map(rgb, self._params(rgb))

    def push(self, rgb: np.ndarray) -> list[np.ndarray]:
        return [self._map(rgb, self._params(rgb))]
