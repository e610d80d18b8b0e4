"""Record the golden output of every shipped weights tag (tests/models/golden.json); run after shipping a tag.

Not a test: it writes what the golden test then compares against.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))

from golden import GOLDEN, golden_output, recorded  # noqa: E402

from sdr2hdr.models import list_models  # noqa: E402
from sdr2hdr.models.weights import shipped_tags  # noqa: E402


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
