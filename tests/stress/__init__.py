"""Long stress checks (fuzzing, 1080p resume, tiling at full size): the tests import them and run them short; run
one long from tests/ with `python -m stress.NAME --help`."""
