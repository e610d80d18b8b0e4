# Two entry points for a new user: `make demo` and `make test`. Each sets up what it needs.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo lint test test-slow bench clean

$(STAMP): pyproject.toml
	@command -v ffprobe >/dev/null 2>&1 || { echo "installing Debian ffmpeg (ffprobe is the independent check)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) || \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null); }
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian chromium (renders the compare page in a test)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); }
	@command -v mkvinfo >/dev/null 2>&1 || { echo "installing Debian mkvtoolnix (mkvinfo reads Matroska HDR metadata in a test)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mkvtoolnix >/dev/null) || \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mkvtoolnix >/dev/null); }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sdr2hdr.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests experiments

# the suite without the long checks (marked slow: corpus, fuzz, DDP, Ray, Chromium, ablation, README run)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

# the long checks alone (CI's second step); spread test by test, so the corpus's cases run on both workers
test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist load -m slow

bench: $(STAMP)
	$(BIN)/python -m sdr2hdr.tools.bench_convert

clean:
	rm -rf $(VENV) build src/*.egg-info
