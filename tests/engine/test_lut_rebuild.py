"""engine.lut.CodeLUT for mappings that change per shot: `rebuild` over kept R'G'B' codes, and `chroma_step=2`."""


import av
import numpy as np
import pytest
import torch
from clip_tools import SAMPLE

from sdr2hdr.engine.lut import CodeLUT
from sdr2hdr.io.frames import frame_plane
from sdr2hdr.models import create
from sdr2hdr.models.adaptive_itm import N_PARAMS
from sdr2hdr.tonemap import bt2408_direct


def direct(white):
    return lambda rgb: np.asarray(bt2408_direct(rgb, white=white), dtype=np.float32)


def sample_planes(index=30):
    with av.open(str(SAMPLE)) as c:
        frame = next(f for i, f in enumerate(c.decode(video=0)) if i == index)
    return tuple(np.ascontiguousarray(frame_plane(frame, i, 8)) for i in range(3))


def test_chroma_step_must_be_1_or_2():
    with pytest.raises(ValueError, match="chroma_step"):
        CodeLUT(direct(203.0), chroma_step=3)


@pytest.fixture(scope="module")
def full():
    return CodeLUT(direct(203.0), chroma_step=1)


@pytest.fixture(scope="module")
def half():
    return CodeLUT(direct(203.0), chroma_step=2)


def test_chroma_step_2_table_is_a_quarter(full, half):
    assert full.cbits == 8 and full.y.size == full.c.size == 1 << 24
    assert half.cbits == 7 and half.y.size == half.c.size == 1 << 22


def test_rebuilt_table_equals_a_fresh_one(half):
    t = CodeLUT(direct(400.0), keep_rgb=True, chroma_step=2)
    before = t.y.copy()
    t.rebuild(direct(203.0))
    assert len(t._rgb) == 256 // 16  # every chunk's decoded R'G'B' was kept and reused
    assert not np.array_equal(before, t.y)  # the two mappings differ, so the rebuild did something
    np.testing.assert_array_equal(t.y, half.y)
    np.testing.assert_array_equal(t.c, half.c)


def test_rebuild_with_adaptive_itm_features_cached_equals_a_fresh_table():
    # what AdaptiveTable does per shot: the pixel features are cached by array, only the parameters change
    torch.manual_seed(0)
    model = create("adaptive_itm").eval()
    p1 = torch.zeros(1, N_PARAMS)  # the untrained estimate
    p2 = p1 + 0.25 * torch.randn(p1.shape, generator=torch.Generator().manual_seed(1))
    cache: dict = {}
    t = CodeLUT(model.pq_mapping(p1, cache), keep_rgb=True, chroma_step=2)
    assert len(cache) == 256 // 16
    before = t.y.copy()
    t.rebuild(model.pq_mapping(p2, cache))
    assert not np.array_equal(before, t.y)
    fresh = CodeLUT(model.pq_mapping(p2), chroma_step=2)
    np.testing.assert_array_equal(t.y, fresh.y)
    np.testing.assert_array_equal(t.c, fresh.c)


def test_chroma_step_2_is_within_2_codes_of_the_full_table_on_a_real_frame(full, half):
    y, u, v = sample_planes()
    assert u.std() > 3 and v.std() > 3  # a frame with colour in it
    for name, a, b in zip("YUV", full(y, u, v), half(y, u, v)):
        assert a.dtype == b.dtype == np.uint16 and a.shape == b.shape
        d = np.abs(a.astype(int) - b.astype(int))
        assert d.max() <= 2, (name, d.max())
        # half an 8-bit chroma code in: a fraction of a code out in luma, about one in chroma
        assert d.mean() < (0.3 if name == "Y" else 1.0), (name, d.mean())


def test_chroma_step_2_on_every_chroma_code(full, half):
    # all chroma code pairs over a luma ramp: the half-code chroma offset moves luma by a couple of codes at most
    cb, cr = np.meshgrid(np.arange(16, 241, dtype=np.uint8), np.arange(16, 241, dtype=np.uint8), indexing="ij")
    u, v = cb.ravel()[:226 * 224].reshape(226, 224), cr.ravel()[:226 * 224].reshape(226, 224)
    y = np.repeat(np.repeat(np.linspace(40, 220, 226).astype(np.uint8)[:, None], 448, 1), 2, 0)
    for name, a, b in zip("YUV", full(y, u, v), half(y, u, v)):
        d = np.abs(a.astype(int) - b.astype(int))
        assert d.max() <= 3 and np.percentile(d, 99) <= 2, (name, d.max())
