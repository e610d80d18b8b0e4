"""`python -m sdr2hdr`: the same command as `sdr2hdr` (for an environment whose scripts folder is not on PATH)."""

import sys

from sdr2hdr.cli import entry

sys.exit(entry())
