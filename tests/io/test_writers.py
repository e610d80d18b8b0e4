"""The shared writers: atomic text and file writes (io.atomic) and PNGs of raw codes (io.images.write_png_codes)."""

import cv2
import numpy as np
import pytest

from sdr2hdr.io.atomic import write_atomic, write_text_atomic
from sdr2hdr.io.images import write_png_codes


@pytest.mark.parametrize("durable", [False, True])
def test_write_text_atomic_replaces_the_file_whole_and_leaves_no_temporary(tmp_path, durable):
    path = tmp_path / "manifest.json"
    path.write_text("old")
    assert write_text_atomic(path, '{"clips": 3}\n', durable=durable) == path
    assert path.read_text(encoding="utf-8") == '{"clips": 3}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_writer_that_fails_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "step_00000010.pt"
    path.write_bytes(b"complete")

    def half_then_fail(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_atomic(path, half_then_fail, durable=True)
    assert path.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000010.pt"]


def test_the_temporary_name_keeps_the_suffix_so_numpy_adds_none(tmp_path):
    # np.save and np.savez append .npy / .npz to a name without it: the temporary must end as the target does
    write_atomic(tmp_path / "hdr-0123.npy", lambda tmp: np.save(tmp, np.arange(4)))
    write_atomic(tmp_path / "shard-0000.npz", lambda tmp: np.savez(tmp, a=np.arange(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hdr-0123.npy", "shard-0000.npz"]
    assert np.load(tmp_path / "hdr-0123.npy").tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_write_png_codes_keeps_every_code_and_makes_the_folder(tmp_path, dtype):
    rng = np.random.default_rng(7)
    codes = rng.integers(0, np.iinfo(dtype).max + 1, (6, 10, 3), dtype=dtype)
    path = write_png_codes(tmp_path / "sdr" / "x2" / "000.png", codes)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, codes)
