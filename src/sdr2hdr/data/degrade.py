"""From ground-truth HDR to the degraded SDR the models see: exposure, mastering, tone mapping, gamut, 8 bits, HEVC.

Functions
- log_average(nits) -> the scene key (geometric mean luminance) that exposure is placed from
- scene_exposure(linear, key_nits, highlight_nits) -> the gain that puts a scene on the HDR display
- master(nits, peak) -> HQ HDR PQ R'G'B': BT.2390 EETF roll-off to the mastering peak (default 1000 cd/m2)
- draw_tmo(rng, weights) -> (name, params): a degradation model and its random parameters, recorded per clip
- tone_map(nits, name, params, rng) -> linear BT.2020 SDR display light, relative (1.0 = 100 cd/m2)
- sdr_encode(sdr_linear_2020) -> HQ SDR: BT.2407 hard clip to BT.709, BT.1886 inverse, 8-bit R'G'B'
- hdr_master, sdr_frame: the two steps sdr2hdr.tools.make_sample uses (log-average key, BT.2446 A)
- encode_rgb8(out, stream, frames, fps): 8-bit R'G'B' frames onto an open PyAV stream as BT.709 4:2:0 (every round trip)
- x265_roundtrip(frames, qp, ...) -> (decoded 8-bit frames, bitstream bytes): libx265 through PyAV at a fixed QP

Signals follow docs/conventions.md: HDR is BT.2020 PQ (absolute, 1.0 = 10000 cd/m2), SDR is BT.709 BT.1886 8-bit R'G'B'.
The camera model is KPNet's eq. (1): I_S = t/g phi + I_0 + n, saturating at I_max.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import av
import numpy as np

from sdr2hdr.color import (
    BT709_TO_BT2020,
    apply_matrix,
    bt1886_inverse_eotf,
    gamut_clip_2020_to_709,
    luminance,
    pq_eotf,
    pq_inverse_eotf,
    rgb_to_yuv420,
)
from sdr2hdr.io.frames import frame_to_rgb
from sdr2hdr.tonemap import bt2390_eetf, bt2446a_forward, bt2446c_forward, camera_model, eetf_to_sdr, hable, reinhard

__all__ = ["REFERENCE_WHITE", "GREY_KEY", "TMO_NAMES", "log_average", "scene_exposure", "master", "draw_tmo",
           "tone_map", "sdr_encode", "hdr_master", "sdr_frame", "encode_rgb8", "x265_roundtrip"]

REFERENCE_WHITE = 203.0  # cd/m2, BT.2408 HDR reference (diffuse) white
# A scene's log-average is taken as 18 % grey under that white (the photographic key), which puts diffuse white
# near 203 cd/m2 for an average scene.
GREY_KEY = 0.18 * REFERENCE_WHITE
TMO_NAMES = ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera")
PQ_MAX_NITS = 10000.0
X265_MIN_SIDE = 128  # smaller pictures are edge-padded to this for the encoder (see x265_roundtrip)


def log_average(nits: np.ndarray, floor: float = 1e-4) -> float:
    """Geometric mean of BT.2020 luminance (Reinhard's key). Domain: linear BT.2020 HWC or NHWC. Range: > 0."""
    lum = np.asarray(luminance(np.asarray(nits, dtype=np.float32), "bt2020"))
    return float(np.exp(np.mean(np.log(np.maximum(lum, floor)))))


def scene_exposure(linear: np.ndarray, key_nits: float = GREY_KEY, highlight_nits: float = 4000.0,
                   percentile: float = 99.0) -> tuple[float, dict]:
    """Gain that places a scene-linear picture on the HDR display, from statistics of the whole scene.

    The log-average luminance goes to key_nits (18 % grey under 203 cd/m2 diffuse white), unless that would push
    the scene's 99th-percentile luminance above highlight_nits: low-key scenes (a candle-lit table, a studio
    with lamps in view) are then exposed for their lights instead of being lifted to mid-grey, noise and all.
    Whole-scene statistics keep a view into a dark corner dark, as one exposure for a whole set does.

    Domain: linear HWC (or NHWC) RGB, relative. Range: (gain > 0, statistics for the manifest).
    """
    lum = np.asarray(luminance(np.asarray(linear, dtype=np.float32), "bt2020"))
    key = log_average(linear)
    high = float(np.percentile(lum, percentile))
    by_key = key_nits / key
    by_high = highlight_nits / high if high > 0 else by_key
    gain = min(by_key, by_high)
    return gain, {"scene_log_average": float(key), f"scene_p{percentile:g}": high,
                  "limited_by": "key" if by_key <= by_high else f"p{percentile:g} at {highlight_nits:g} cd/m2"}


def master(nits: np.ndarray, peak: float = 1000.0, source_peak: float | None = None) -> np.ndarray:
    """HQ HDR: soft roll-off of linear BT.2020 display light onto a `peak` cd/m2 display (BT.2390 EETF), PQ coded.

    source_peak is the brightest value the roll-off starts from (default: the max of `nits`); give one value for
    a whole clip so that the curve does not change from frame to frame. Per-component EETF, as in BT.2390 5.4.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: PQ R'G'B' in [0, PQ(peak)], float32.
    """
    nits = np.clip(np.asarray(nits, dtype=np.float32), 0.0, PQ_MAX_NITS)
    src = float(np.clip(source_peak if source_peak is not None else nits.max(), peak, PQ_MAX_NITS))
    pq = bt2390_eetf(pq_inverse_eotf(nits), src_white=src, tgt_white=peak)
    return np.asarray(pq, dtype=np.float32)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def draw_tmo(rng: np.random.Generator, weights: dict[str, float]) -> tuple[str, dict]:
    """Pick a degradation model by weight and draw its parameters; both go into the clip's manifest.

    Parameter ranges keep HDR reference white (203 cd/m2) between roughly 60 % and 95 % SDR code, where
    broadcast SDR puts diffuse white, so that no model makes an unusable picture.
    """
    names = [n for n in TMO_NAMES if weights.get(n, 0) > 0]
    if not names:
        raise ValueError(f"no tone-mapping operator has a positive weight: {weights}")
    p = np.array([weights[n] for n in names], dtype=np.float64)
    name = names[int(rng.choice(len(names), p=p / p.sum()))]
    if name == "bt2446a":
        params = {"Lhdr": 1000.0}
    elif name == "bt2446c":
        params = {"alpha": round(float(rng.uniform(0.0, 0.1)), 4)}  # BT.2446-1 6.1 crosstalk, 0.05 typical
    elif name == "bt2390":
        params = {"mode": str(rng.choice(["rgb", "maxrgb"]))}
    elif name == "hable":
        params = {"exposure": round(float(rng.uniform(1.5, 3.0)), 4), "white": 1000.0}
    elif name == "reinhard":
        params = {"exposure": round(_log_uniform(rng, 0.7, 1.6), 4), "white": 1000.0}
    else:  # KPNet eq. (1): t/g sets where the scene lands, I_0 lifts black, n is sensor noise, I_max saturates
        gain = float(rng.choice([1.0, 2.0, 4.0]))
        params = {"exposure": round(gain * _log_uniform(rng, 0.35, 0.85), 4), "gain": gain,
                  "offset": round(float(rng.uniform(0.0, 0.01)), 5),
                  # noise grows with the analogue gain, as shot and read noise do
                  "noise_sigma": round(float(rng.uniform(0.001, 0.004) * math.sqrt(gain)), 5),
                  "clip_level": 1.0, "gamma": round(float(rng.uniform(2.2, 2.4)), 3)}
    return name, params


def tone_map(nits: np.ndarray, name: str, params: dict, rng: np.random.Generator | None = None) -> np.ndarray:
    """Apply a named forward TMO to linear BT.2020 display light (HWC or NHWC, cd/m2).

    rng draws the camera model's noise (fresh per frame: sensor noise is temporal). Range: linear BT.2020 SDR
    display light, relative (1.0 = 100 cd/m2), >= 0; the gamut clip and quantisation come after.
    """
    if name == "bt2446a":
        return bt2446a_forward(nits, **params)
    if name == "bt2446c":
        return bt2446c_forward(nits, **params)
    if name == "bt2390":
        return eetf_to_sdr(nits, src_white=1000.0, **params)
    if name == "hable":
        return hable(nits, **params)
    if name == "reinhard":
        return reinhard(nits, **params)
    if name == "camera":
        return camera_model(nits, generator=rng, **params)
    raise ValueError(f"unknown tone-mapping operator {name!r}; expected one of {TMO_NAMES}")


def sdr_encode(sdr_linear_2020: np.ndarray) -> np.ndarray:
    """HQ SDR: BT.2020 -> BT.709 hard clip (BT.2407 section 2), BT.1886 inverse EOTF (gamma 1/2.4), 8 bits.

    Domain: linear BT.2020 relative display light (1.0 = 100 cd/m2). Range: uint8 R'G'B' (BT.709), same shape.
    """
    lin709 = np.asarray(gamut_clip_2020_to_709(np.asarray(sdr_linear_2020, dtype=np.float32), upper=1.0))
    v = np.asarray(bt1886_inverse_eotf(lin709 * 100.0))
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


def hdr_master(linear709: np.ndarray, key_nits: float = 30.0) -> np.ndarray:
    """Scene-linear BT.709 -> mastered BT.2020 display light (cd/m2): log-average at key_nits, roll-off to 1000.

    The sample clip's recipe (sdr2hdr.tools.make_sample). Range: linear BT.2020 cd/m2 in [0, 1000], float32.
    """
    lum = np.asarray(luminance(linear709, primaries="bt709"))
    log_avg = float(np.exp(np.mean(np.log(np.maximum(lum, 1e-6)))))
    nits = np.asarray(apply_matrix(BT709_TO_BT2020, linear709 * (key_nits / log_avg)), dtype=np.float32)
    pq = bt2390_eetf(pq_inverse_eotf(np.maximum(nits, 0.0)), src_white=float(max(nits.max(), 1000.0)),
                     tgt_white=1000.0)
    return np.asarray(pq_eotf(pq), dtype=np.float32)


def sdr_frame(hdr_nits_2020: np.ndarray) -> np.ndarray:
    """HDR master -> 8-bit SDR R'G'B' (BT.2446 A, BT.2407 clip to BT.709, BT.1886 inverse)."""
    return sdr_encode(bt2446a_forward(hdr_nits_2020))


def encode_rgb8(out: av.container.OutputContainer, vs: av.VideoStream, frames: np.ndarray, fps: int) -> None:
    """Encode 8-bit R'G'B' frames (T, H, W, 3) on stream vs of container out as BT.709 limited 4:2:0, then flush.

    Our own matrix makes the Y'CbCr, so that no library picks one; shared by every codec round trip.
    """
    T, H, W, _ = frames.shape
    for i in range(T):
        y, u, v = rgb_to_yuv420(frames[i].astype(np.float32) / 255.0, matrix="bt709", bits=8, full_range=False)
        frame = av.VideoFrame(W, H, "yuv420p")
        for plane, data in zip(frame.planes, (y, u, v)):
            dst = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
            np.copyto(dst[: data.shape[0], : data.shape[1]], data, casting="unsafe")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for pkt in vs.encode(frame):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)


def x265_roundtrip(frames: np.ndarray, qp: int, intra_only: bool = False, preset: str = "medium",
                   fps: int = 24, bitstream_path: str | os.PathLike | None = None) -> tuple[np.ndarray, int]:
    """Compress 8-bit SDR frames with libx265 at a fixed QP and decode them back: the LQ SDR.

    The frames become BT.709 limited-range Y'CbCr 4:2:0 8-bit (Main profile, tagged 1/1/1) with our own matrix,
    so that no library picks one; `qp=N` fixes the quantiser (no rate control); intra_only sets keyint=1
    (KPNet's HM all-intra); otherwise x265's default GOP with B-frames (inter coding, DIDNet). One thread and
    pictures of at least X265_MIN_SIDE (edge-padded, cropped after decoding), so the bitstream is the same on
    every run. bitstream_path, if given, keeps the raw HEVC stream (padded size).

    Domain: uint8 (T, H, W, 3) R'G'B', H and W even; qp in [0, 51]. Range: (uint8 (T, H, W, 3), bytes written).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 (T, H, W, 3) frames, got {frames.dtype} {frames.shape}")
    T, H, W, _ = frames.shape
    if H % 2 or W % 2:
        raise ValueError(f"4:2:0 needs even sizes, got {W}x{H}")
    # libx265 3.x gives a different bitstream from run to run for pictures this small (64x64 and widths of 32
    # were seen to; 128 and up never were): small pictures are padded with their edge pixels, as HEVC pads to
    # whole coding units itself, and cropped again after decoding.
    pad_h, pad_w = max(0, X265_MIN_SIDE - H), max(0, X265_MIN_SIDE - W)
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        T, H, W, _ = frames.shape
    params = [f"qp={int(qp)}", "log-level=error", "pools=1", "frame-threads=1", "lookahead-slices=0",
              "colorprim=bt709", "transfer=bt709", "colormatrix=bt709", "range=limited", "info=0"]
    if intra_only:
        params.append("keyint=1")
    import io

    buf = io.BytesIO()
    out = av.open(buf, "w", format="hevc")
    try:
        vs = out.add_stream("libx265", rate=fps)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        cc = vs.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
        vs.options = {"preset": preset, "x265-params": ":".join(params)}
        encode_rgb8(out, vs, frames, fps)
    finally:
        out.close()
    data = buf.getvalue()
    if bitstream_path is not None:
        with open(bitstream_path, "wb") as f:
            f.write(data)
    decoded = []
    with av.open(io.BytesIO(data), "r", format="hevc") as inp:
        for frame in inp.decode(video=0):
            rgb = frame_to_rgb(frame, "bt709", False)
            decoded.append(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))
    if len(decoded) != T:
        raise RuntimeError(f"x265 round trip returned {len(decoded)} of {T} frames")
    return np.ascontiguousarray(np.stack(decoded)[:, : H - pad_h, : W - pad_w]), len(data)
