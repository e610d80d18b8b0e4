"""The build recipe: every choice that shapes a data set, as typed dataclasses loaded from YAML (configs/data/).

Classes
- StillCamera: pan / zoom / roll limits of the crop-window camera over flat photographs
- PanoramaCamera: field of view, upsampling, pan, pitch and roll limits of the perspective camera in panoramas
- Recipe: clip size and length, clips per source and split, exposure, mastering peak, degradation weights,
  QPs, scales, encoder settings, the seed; Recipe.from_yaml(path, **overrides), Recipe.to_dict()

The defaults here are the default recipe; configs/data/default.yaml spells them out (a test keeps the two equal).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sdr2hdr.errors import InputError

__all__ = ["StillCamera", "PanoramaCamera", "Recipe"]

X265_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class StillCamera:
    """Crop-window camera over a flat photo: max_shift is the pan over a clip as a fraction of the view width."""

    max_shift: float = 0.25
    zoom_range: tuple[float, float] = (0.9, 1.15)
    max_roll: float = 3.0  # degrees
    max_zoom: float = 1.0  # never start a clip upsampling the photo more than this (output px per source px)


@dataclass(frozen=True)
class PanoramaCamera:
    """Pinhole camera in an equirectangular panorama; max_zoom limits the upsampling at the view centre."""

    fov: tuple[float, float] = (55.0, 110.0)  # horizontal, degrees
    max_zoom: float = 1.5
    max_pan: float = 20.0  # degrees of yaw over a clip
    max_pitch: float = 15.0
    max_roll: float = 3.0
    zoom_range: tuple[float, float] = (0.9, 1.15)


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a built set's bytes (worker count and paths do not)."""

    seed: int = 0
    size: tuple[int, int] = (256, 256)  # height, width of the HDR / x1 frames
    frames: int = 10  # DIDNet tests on 10-frame sequences
    fps: int = 24
    clips_per_source: dict = field(default_factory=lambda: {"train": 12, "test": 4})
    test_fraction: float = 0.2  # of the scene groups in each collection (folder), at least one when there are two
    test_sources: tuple[str, ...] = ()  # glob patterns of source ids forced into the test split
    scene_threshold: float = 0.8  # fingerprint correlation above which two sources are one scene
    equirect: str = "auto"  # "auto" (sources.json, else 2:1 stills), "never", "always"
    key_nits: float = 36.54  # scene log-average lands here: 18 % grey under 203 cd/m2 diffuse white
    highlight_nits: float = 4000.0  # ... unless the scene's 99th percentile would land above this (low-key scenes)
    exposure_stops: tuple[float, float] = (-1.5, 1.0)  # random factor 2^U(lo, hi) on scene-linear sources
    display_exposure_stops: tuple[float, float] = (0.0, 0.0)  # PQ sources are already mastered
    peak_nits: float = 1000.0  # mastering display peak (BT.2390 EETF roll-off)
    tmo_weights: dict = field(default_factory=lambda: {"bt2446a": 1.0, "bt2446c": 1.0, "bt2390": 1.0,
                                                       "hable": 1.0, "reinhard": 1.0, "camera": 1.0})
    qps: tuple[int, ...] = (27, 32, 37, 42, 47)
    scales: tuple[int, ...] = (1, 2, 4)
    intra_only: bool = False
    x265_preset: str = "medium"
    still_camera: StillCamera = StillCamera()
    panorama_camera: PanoramaCamera = PanoramaCamera()

    def __post_init__(self) -> None:
        h, w = self.size
        m = 2 * max(self.scales)
        if h % m or w % m:
            raise InputError(f"size {w}x{h}: both sides must be multiples of {m} (2 x largest scale, for 4:2:0)")
        if self.frames < 1:
            raise InputError("frames must be >= 1")
        if any(not 0 <= q <= 51 for q in self.qps):
            raise InputError(f"QPs must be in 0..51, got {list(self.qps)}")
        if any(s < 1 for s in self.scales) or 1 not in self.scales:
            raise InputError(f"scales must be integers >= 1 and include 1, got {list(self.scales)}")
        if self.x265_preset not in X265_PRESETS:
            raise InputError(f"x265_preset must be one of {', '.join(X265_PRESETS)}")
        if self.equirect not in ("auto", "never", "always"):
            raise InputError("equirect must be auto, never or always")
        if not 0 <= self.test_fraction < 1:
            raise InputError("test_fraction must be in [0, 1)")
        bad = set(self.clips_per_source) - {"train", "test"}
        if bad:
            raise InputError(f"clips_per_source has unknown splits {sorted(bad)} (train, test)")

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples as lists), the form stored beside a built set."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict, **overrides: Any) -> Recipe:
        data = {**(data or {}), **{k: v for k, v in overrides.items() if v is not None}}
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(names)
        if unknown:
            raise InputError(f"unknown recipe keys: {', '.join(sorted(unknown))}")
        kwargs = {}
        for key, value in data.items():
            if key == "still_camera":
                kwargs[key] = _sub(StillCamera, value)
            elif key == "panorama_camera":
                kwargs[key] = _sub(PanoramaCamera, value)
            elif key in ("clips_per_source", "tmo_weights"):
                kwargs[key] = dict(value)
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, path: str | Path | None, **overrides: Any) -> Recipe:
        """Load a recipe YAML (None: the built-in defaults) and apply non-None overrides."""
        data = {}
        if path is not None:
            try:
                data = yaml.safe_load(Path(path).read_text()) or {}
            except OSError as exc:
                raise InputError(f"cannot read recipe {path}: {exc.strerror}") from None
            except yaml.YAMLError as exc:
                raise InputError(f"recipe {path} is not valid YAML: {exc}") from None
        return cls.from_dict(data, **overrides)


def _sub(kind, value):
    if isinstance(value, kind):
        return value
    value = dict(value or {})
    unknown = set(value) - {f.name for f in dataclasses.fields(kind)}
    if unknown:
        raise InputError(f"unknown {kind.__name__} keys: {', '.join(sorted(unknown))}")
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x
