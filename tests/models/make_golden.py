"""Record the golden output of every shipped weights tag (tests/models/golden.json); run after shipping a tag.

Not a test: it writes what the golden test then compares against. `python tests/models/make_golden.py` (the
script's own folder is first on the import path, so golden.py beside it imports as `golden`).
"""

from __future__ import annotations

import json
import sys

from golden import GOLDEN, golden_output, recorded

from sdr2hdr.models import list_models
from sdr2hdr.models.weights import shipped_tags


def main() -> int:
    table = recorded()
    for name in list_models():
        for tag in shipped_tags(name):
            key = f"{name}.{tag}"
            table[key] = golden_output(key)
            print(f"{key}: mean {table[key]['mean']:.6f}, std {table[key]['std']:.6f}")
    GOLDEN.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
