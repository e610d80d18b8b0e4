"""Randomised training pairs: many gradings of the HDR and ways of making the SDR, so a model inverts unseen curves.

The fixed builder (data.build) films clips and degrades each with one of six curves; a model trained on it learns
their average. This generator draws, per sample, everything that decides how an SDR picture relates to its HDR
master (the recipe, configs/data/generated.yaml, documents each distribution):

- HDR grading convention: diffuse white 100-300 cd/m2 (log-uniform), mastering peak 600-4000 cd/m2
  (log-uniform), highlight roll-off BT.2390 EETF, soft shoulder or hard clip.
- How the SDR was made: a random filmic S-curve (exposure, contrast, shoulder, white point, toe; per channel or
  on luminance; saturation change) or one of the standard curves (BT.2446 A/C, BT.2390, Hable, Reinhard, the
  camera model) with random parameters and the grade's own peak.
- BT.2407 clip to BT.709, BT.1886 inverse, 8 bits; then x264 or x265 at a random QP or CRF and preset, or no
  coding; sometimes a downscale and upscale (SDR that was once smaller).

Functions
- draw_grade(rng), grade(linear, grade) -> HDR display light in cd/m2, BT.2020
- draw_sdr(rng, families) -> (family, params); make_sdr(nits, family, params, grade, rng) -> SDR linear relative
- draw_codec(rng), codec_roundtrip(frames, codec) -> decoded 8-bit frames
- generate_sample(linear, rng, families) -> (sdr uint8, hdr PQ float32, record)
- build_pool(sources_root, out, count, ...) -> the pool on disk (npz shards + manifest) that training reads
- load_pool(out, exclude=()) -> arrays and records, without the families left out

The held-out curves (tonemap.HELDOUT_TMOS) are never drawn here: they exist to test on.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sdr2hdr.color import luminance, pq_inverse_eotf
from sdr2hdr.data.degrade import encode_rgb8, log_average, master, sdr_encode, tone_map
from sdr2hdr.io.atomic import write_atomic

__all__ = ["FAMILIES", "STANDARD_FAMILIES", "draw_grade", "grade", "draw_sdr", "make_sdr", "draw_codec",
           "codec_roundtrip", "generate_sample", "build_pool", "load_pool"]

STANDARD_FAMILIES = ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera")
FAMILIES = ("filmic",) + STANDARD_FAMILIES
# Half the samples come from random filmic curves, the rest from the standard ones (equal shares).
FAMILY_WEIGHTS = {"filmic": 6.0, **dict.fromkeys(STANDARD_FAMILIES, 1.0)}
GREY = 0.18  # the photographic key: a scene's log-average sits at 18 % of diffuse white


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


# --- HDR grading --------------------------------------------------------------------------------------------------

def draw_grade(rng: np.random.Generator) -> dict:
    """A grading convention: where diffuse white sits, the mastering peak, how highlights roll off."""
    return {"diffuse_white": round(_log_uniform(rng, 100.0, 300.0), 2),
            "peak": round(_log_uniform(rng, 600.0, 4000.0), 1),
            "rolloff": str(rng.choice(["bt2390", "shoulder", "clip"], p=[0.5, 0.3, 0.2])),
            "key_stops": round(float(rng.uniform(-1.0, 0.7)), 3)}


def grade(linear: np.ndarray, g: dict, scene_key: float | None = None) -> np.ndarray:
    """Scene-linear BT.2020 -> display light (cd/m2) under grading convention g, limited to its peak.

    The scene's log-average (scene_key, default: this picture's) lands on 18 % of diffuse white times
    2^key_stops; highlights roll off to the peak by the BT.2390 EETF, a per-channel soft shoulder, or a clip.
    """
    key = scene_key if scene_key is not None else log_average(linear)
    nits = np.asarray(linear, dtype=np.float32) * (GREY * g["diffuse_white"] * 2.0 ** g["key_stops"] / key)
    peak = g["peak"]
    if g["rolloff"] == "bt2390":
        from sdr2hdr.color import pq_eotf

        return np.asarray(pq_eotf(master(nits, peak=peak)), dtype=np.float32)
    if g["rolloff"] == "shoulder":
        # identity up to half the peak, then x / (1 + x / span) towards the peak
        knee = 0.5 * peak
        over = np.maximum(nits - knee, 0.0)
        return np.minimum(nits, knee) + over / (1.0 + over / (peak - knee))
    return np.minimum(nits, peak)


# --- SDR making ---------------------------------------------------------------------------------------------------

def draw_sdr(rng: np.random.Generator, families: Sequence[str] = FAMILIES) -> tuple[str, dict]:
    """A way of making SDR: its family and parameters (recorded per sample)."""
    families = [f for f in FAMILIES if f in families]
    if not families:
        raise ValueError("no SDR family left to draw from")
    p = np.array([FAMILY_WEIGHTS[f] for f in families])
    family = families[int(rng.choice(len(families), p=p / p.sum()))]
    sat = round(float(rng.uniform(0.75, 1.25)), 3) if rng.random() < 0.4 else 1.0
    if family == "filmic":
        params = {"exposure": round(2.0 ** float(rng.uniform(-0.8, 0.6)), 4),
                  "contrast": round(float(rng.uniform(0.8, 1.5)), 3),
                  "shoulder": round(_log_uniform(rng, 0.2, 2.5), 4),
                  "white": round(float(rng.uniform(0.5, 1.5)), 3),  # times peak / diffuse white
                  "toe": round(float(rng.uniform(0.0, 0.03)), 4),
                  "mode": str(rng.choice(["channel", "luminance"]))}
    elif family == "bt2446c":
        params = {"alpha": round(float(rng.uniform(0.0, 0.1)), 4)}
    elif family == "bt2390":
        params = {"mode": str(rng.choice(["rgb", "maxrgb"]))}
    elif family == "hable":
        params = {"exposure": round(float(rng.uniform(1.5, 3.0)), 4)}
    elif family == "reinhard":
        params = {"exposure": round(_log_uniform(rng, 0.7, 1.6), 4)}
    elif family == "camera":
        gain = float(rng.choice([1.0, 2.0, 4.0]))
        params = {"exposure": round(gain * _log_uniform(rng, 0.35, 0.85), 4), "gain": gain,
                  "offset": round(float(rng.uniform(0.0, 0.01)), 5),
                  "noise_sigma": round(float(rng.uniform(0.001, 0.004) * math.sqrt(gain)), 5),
                  "clip_level": 1.0, "gamma": round(float(rng.uniform(2.2, 2.4)), 3)}
    else:  # bt2446a has no free parameter beyond the grade's peak
        params = {}
    params["saturation"] = sat
    return family, params


def _filmic(nits: np.ndarray, p: dict, g: dict) -> np.ndarray:
    """Hill-type S-curve f(x) = x^c / (x^c + k) on exposure x (x = 1 at diffuse white), white point at 1."""
    c, k = p["contrast"], p["shoulder"]

    def f(x):
        xc = np.power(np.maximum(x, 0.0), c)
        return xc / (xc + k)

    white = f(p["exposure"] * p["white"] * g["peak"] / g["diffuse_white"])
    scale = p["exposure"] / g["diffuse_white"]
    if p["mode"] == "channel":
        y = f(nits * scale) / white
    else:
        L = np.asarray(luminance(nits, "bt2020"))
        ratio = f(L * scale) / white / np.maximum(L, 1e-6)
        y = nits * ratio
    y = np.maximum(y - p["toe"], 0.0) / (1.0 - p["toe"])
    return np.minimum(y, 1.0) if p["mode"] == "channel" else y


def make_sdr(nits: np.ndarray, family: str, params: dict, g: dict, rng: np.random.Generator) -> np.ndarray:
    """HDR display light (cd/m2, BT.2020) -> linear BT.2020 SDR display light, relative (1.0 = 100 cd/m2)."""
    p = {k: v for k, v in params.items() if k != "saturation"}
    if family == "filmic":
        sdr = _filmic(nits, p, g)
    elif family == "bt2446a":
        sdr = tone_map(nits, "bt2446a", {"Lhdr": max(g["peak"], 400.0)})
    elif family == "bt2390":
        from sdr2hdr.tonemap import eetf_to_sdr

        sdr = eetf_to_sdr(nits, src_white=g["peak"], mode=p["mode"])
    elif family in ("hable", "reinhard"):
        # their exposure is relative to 203 cd/m2 diffuse white; follow the grade's white instead
        scaled = nits * (203.0 / g["diffuse_white"])
        sdr = tone_map(scaled, family, {**p, "white": g["peak"] * 203.0 / g["diffuse_white"]})
    else:
        sdr = tone_map(nits, family, p, rng)
    sdr = np.asarray(sdr, dtype=np.float32)
    s = params.get("saturation", 1.0)
    if s != 1.0:
        L = np.asarray(luminance(sdr, "bt2020"))
        sdr = np.maximum(L + s * (sdr - L), 0.0)
    return sdr


# --- coding -------------------------------------------------------------------------------------------------------

def draw_codec(rng: np.random.Generator) -> dict | None:
    """x264 or x265 at a random QP or CRF and preset; one sample in ten is left uncoded."""
    if rng.random() < 0.1:
        return None
    codec = str(rng.choice(["libx264", "libx265"]))
    spec = {"codec": codec, "preset": str(rng.choice(["ultrafast", "fast", "medium"]))}
    if rng.random() < 0.5:
        spec["qp"] = int(rng.integers(22, 46))
    else:
        spec["crf"] = int(rng.integers(18, 41))
    return spec


def codec_roundtrip(frames: np.ndarray, spec: dict, fps: int = 24) -> np.ndarray:
    """Encode 8-bit R'G'B' frames (T, H, W, 3) as BT.709 limited 4:2:0 with x264/x265 and decode them back."""
    import av

    from sdr2hdr.io.frames import frame_to_rgb

    T, H, W, _ = frames.shape
    codec = spec["codec"]
    opts = {"preset": spec["preset"]}
    rate = f"qp={spec['qp']}" if "qp" in spec else f"crf={spec['crf']}"
    if codec == "libx265":
        opts["x265-params"] = f"{rate}:log-level=error:pools=1:frame-threads=1:info=0"
    else:
        opts.update({"threads": "1"}, **({"qp": str(spec["qp"])} if "qp" in spec else {"crf": str(spec["crf"])}))
    buf = io.BytesIO()
    out = av.open(buf, "w", format="hevc" if codec == "libx265" else "h264")
    try:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = opts
        encode_rgb8(out, vs, frames, fps)
    finally:
        out.close()
    decoded = []
    with av.open(io.BytesIO(buf.getvalue()), "r", format="hevc" if codec == "libx265" else "h264") as inp:
        for frame in inp.decode(video=0):
            rgb = frame_to_rgb(frame, "bt709", False)
            decoded.append(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))
    if len(decoded) != T:
        raise RuntimeError(f"{codec} round trip returned {len(decoded)} of {T} frames")
    return np.stack(decoded)


def _resample(sdr: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    import cv2

    f = float(rng.uniform(1.3, 2.0))
    h, w = sdr.shape[:2]
    small = cv2.resize(sdr, (max(2, round(w / f)), max(2, round(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), round(f, 3)


def generate_sample(linear: np.ndarray, rng: np.random.Generator, families: Sequence[str] = FAMILIES,
                    scene_key: float | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """One training pair from a scene-linear BT.2020 picture (H, W even): (LQ SDR uint8, HQ HDR PQ, record)."""
    g = draw_grade(rng)
    nits = grade(linear, g, scene_key)
    family, params = draw_sdr(rng, families)
    sdr = sdr_encode(make_sdr(nits, family, params, g, rng))
    record = {"grade": g, "family": family, "params": params, "codec": None, "resampled": None}
    if rng.random() < 0.15:
        sdr, record["resampled"] = _resample(sdr, rng)
    spec = draw_codec(rng)
    if spec is not None:
        sdr = codec_roundtrip(sdr[None], spec)[0]
        record["codec"] = spec
    hdr = np.asarray(pq_inverse_eotf(np.clip(nits, 0.0, 10000.0)), dtype=np.float32)
    return sdr, hdr, record


# --- the pool -----------------------------------------------------------------------------------------------------

def _crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square window (from `size` to the short side) resized to size x size with area averaging."""
    import cv2

    H, W = img.shape[:2]
    side = int(math.exp(rng.uniform(math.log(size), math.log(min(H, W)))))
    y0, x0 = int(rng.integers(0, H - side + 1)), int(rng.integers(0, W - side + 1))
    win = img[y0:y0 + side, x0:x0 + side]
    if side != size:
        win = cv2.resize(win, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(win)


def _train_sources(sources_root: str | os.PathLike):
    """The training split of the default recipe: the same sources the fixed builder trains on, never its test."""
    from sdr2hdr.data.build import plan
    from sdr2hdr.data.recipe import Recipe

    p = plan(Recipe(), sources_root)
    return [s for s in p.sources if p.splits[s.id] == "train" and not s.is_video]


def _shard(args) -> str:
    sources_root, out, shard, n, size, seed = args
    from sdr2hdr.data.sources import load_still

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    path = Path(out) / f"shard-{shard:04d}.npz"
    if path.exists():
        return path.name
    rng = np.random.default_rng([seed, shard])
    sources = _train_sources(sources_root)
    sdr, hdr, records = [], [], []
    cache: dict = {}
    for _ in range(n):
        src = sources[int(rng.integers(len(sources)))]
        if src.id not in cache:
            img = load_still(src)
            cache.clear()
            cache[src.id] = (img, log_average(img))
        img, key = cache[src.id]
        s, h, rec = generate_sample(_crop(img, size, rng), rng, scene_key=key)
        rec["source"] = src.id
        sdr.append(s)
        hdr.append(np.clip(np.rint(h * 65535.0), 0, 65535).astype(np.uint16))
        records.append(rec)
    write_atomic(path, lambda tmp: np.savez(tmp, sdr=np.stack(sdr), hdr=np.stack(hdr),
                                            records=np.array(json.dumps(records))))
    return path.name


def build_pool(sources_root: str | os.PathLike, out: str | os.PathLike, count: int = 4096, size: int = 128,
               seed: int = 0, shard_size: int = 256, workers: int = 2, log: Callable[[str], None] = print) -> Path:
    """Generate `count` pairs from the training sources into npz shards (resumable: finished shards are kept)."""
    from concurrent.futures import ProcessPoolExecutor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shards = [(str(sources_root), str(out), k, min(shard_size, count - k * shard_size), size, seed)
              for k in range(math.ceil(count / shard_size))]
    t0 = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as ex:
        for name in ex.map(_shard, shards):
            done += 1
            rate = done / (time.perf_counter() - t0)
            log(f"{name}: {done}/{len(shards)} shards, {rate * shard_size:.1f} samples/s, "
                f"{(len(shards) - done) / max(rate, 1e-9):.0f} s left")
    (out / "pool.json").write_text(json.dumps({"count": count, "size": size, "seed": seed,
                                               "shard_size": shard_size, "recipe": "configs/data/generated.yaml"},
                                              indent=2))
    return out


def load_pool(out: str | os.PathLike, exclude: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """All pairs of a pool (SDR uint8 NHWC, HDR PQ uint16 NHWC, records), minus the families in `exclude`."""
    sdr, hdr, recs = [], [], []
    for path in sorted(Path(out).glob("shard-*.npz")):
        if path.name.endswith(".tmp.npz"):  # a shard half-written under the temporary name builds once used
            continue
        with np.load(path) as z:
            r = json.loads(str(z["records"]))
            keep = np.array([x["family"] not in exclude for x in r])
            sdr.append(z["sdr"][keep])
            hdr.append(z["hdr"][keep])
            recs.extend(x for x, k in zip(r, keep) if k)
    if not sdr:
        raise FileNotFoundError(f"no pool shards in {out}")
    return np.concatenate(sdr), np.concatenate(hdr), recs
