"""Tests of sdr2hdr.data (a package, so that its conftest does not shadow tests/conftest.py)."""
