"""even_size: the size 4:2:0 carries, for every parity of width and height."""

import pytest

from sdr2hdr.color import even_size


@pytest.mark.parametrize(("size", "even"), [((1920, 1080), (1920, 1080)), ((1921, 1080), (1920, 1080)),
                                            ((1920, 1081), (1920, 1080)), ((321, 181), (320, 180)), ((2, 2), (2, 2))])
def test_even_size_crops_only_an_odd_side_by_one(size, even):
    assert even_size(*size) == even
