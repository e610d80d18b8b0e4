"""The README as a new user meets it: at most 200 lines, its usage commands run in order as written on a fresh clone
(a temporary folder holding only the bundled sample), and every relative link in it and in docs/ leads to a file."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SAMPLE = "src/sdr2hdr/assets/sample_sdr.mp4"  # the path the README's commands use, relative to a clone's root
SAMPLE_FRAMES = 96


def usage_commands() -> list[str]:
    """The shell lines of the README's "Usage" section, in order, without their trailing comments."""
    text = README.read_text()
    section = text[text.index("\n## Usage\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    lines = [re.split(r"\s+#", line)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_readme_is_short_and_its_headings_nest_one_level_at_a_time():
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text().splitlines()
        if path == README:
            assert len(lines) <= 200, len(lines)
        fenced, last = False, 0
        for line in lines:
            fenced ^= line.startswith("```")
            level = len(line) - len(line.lstrip("#")) if line.startswith("#") and not fenced else 0
            if level:
                assert level <= last + 1, f"{path.name}: {line!r} is nested under a level-{last} heading"
                last = level


def test_usage_commands_write_distinct_files_and_compare_within_the_sample():
    commands = [shlex.split(c) for c in usage_commands()]
    assert commands and all(argv[0] == "sdr2hdr" for argv in commands)
    written = [argv[3] for argv in commands if argv[1] == "convert"]
    written += [_option(argv, "--html") for argv in commands if argv[1] == "compare"]
    assert len(written) == len(set(written)), written  # no command fails on a file an earlier one wrote
    for argv in commands:
        assert SAMPLE in argv or argv[2] in written, argv  # inputs: the bundled sample or an earlier output
        limit = int(_option(argv, "--max-frames") or SAMPLE_FRAMES) if argv[1] == "convert" else None
        if limit is not None:
            assert limit <= SAMPLE_FRAMES
        if argv[1] == "compare":
            frames = min(int(_option(c, "--max-frames") or SAMPLE_FRAMES) for c in commands
                         if c[1] == "convert" and c[3] in argv)
            assert int(_option(argv, "--frame")) < frames, argv


def test_relative_links_in_readme_and_docs_lead_to_files():
    broken = []
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" not in target and not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


@pytest.mark.slow
def test_readme_usage_runs_in_order_on_a_fresh_copy(tmp_path):
    (tmp_path / SAMPLE).parent.mkdir(parents=True)
    shutil.copyfile(ROOT / SAMPLE, tmp_path / SAMPLE)
    # the installed `sdr2hdr` command beside this interpreter, as the README's reader runs it; else its module
    script = Path(sys.executable).with_name("sdr2hdr")
    prefix = [str(script)] if script.is_file() else [sys.executable, "-m", "sdr2hdr"]
    for command in usage_commands():
        argv = shlex.split(command)
        proc = subprocess.run([*prefix, *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-1000:]}{proc.stderr[-2000:]}"
        if argv[1] == "convert":
            assert (tmp_path / argv[3]).stat().st_size > 0 and f"wrote {argv[3]}" in proc.stderr + proc.stdout
        if argv[1] == "info":
            assert "MaxCLL" in proc.stdout
        if argv[1] == "compare":
            assert (tmp_path / _option(argv, "--html")).read_text().count("data:image/png;base64,") >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["src", *[shlex.split(c)[3] for c in usage_commands() if c.startswith("sdr2hdr convert")],
         *[_option(shlex.split(c), "--html") for c in usage_commands() if c.startswith("sdr2hdr compare")]])
