# The two commands of the README: `make run` (set up + main job) and `make test` (set up + tests).
# The virtual environment lives in .venv/ and is reused; it is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test test-quick lint bench clean browser comet-env

setup: $(STAMP)

# torch first, from the local CPU wheel only (--no-index): if it is not there, fail instead of downloading a
# CUDA build; the rest then finds torch==2.13.0 already installed.
TORCH_WHEELS ?= /opt/wheels

# llama-cpp-python compiles llama.cpp from source (about 5 minutes). Not with -march=native (its default): that
# build crashes in its first decode on this project's machines (Xeon with AVX-512 BF16: llama.cpp's AMX kernels),
# and a native wheel in pip's cache would only run on the CPU kind that built it. The default is the portable build
# (AVX2, FMA, F16C; -DGGML_NATIVE=OFF), which runs everywhere. `make setup LLAMA_BUILD=auto` lets
# scripts/llama_cmake_args.py pick the flags from this CPU instead: AVX-512 (VBMI, VNNI, BF16) with AMX off where
# the CPU has them, else the portable flags. Not the default: the AVX-512 kernels give other greedy translations
# (31 of 64 WMT22 de-en segments differ), and results/seeds, the committed golden run that the tests compare with,
# is the portable build's. (Run-time dispatch, GGML_BACKEND_DL, would need llama-cpp-python to load the backends,
# which 0.3.36 does not.) Set LLAMA_CMAKE_ARGS to override both.
# --no-cache-dir: never take a wheel that an earlier install left in pip's cache. pip runs with -v into a
# log, and only cmake's progress lines ([ 42%] or [42/118]) reach the terminal: --quiet showed nothing for minutes.
LLAMA_BUILD ?= portable
ifeq ($(LLAMA_BUILD),auto)
LLAMA_CMAKE_ARGS ?= $(shell $(PYTHON) scripts/llama_cmake_args.py)
LLAMA_BUILD_NAME := $(shell $(PYTHON) scripts/llama_cmake_args.py --describe)
else
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
LLAMA_BUILD_NAME := portable build (AVX2, FMA, F16C)
endif
LLAMA_STAMP      := $(VENV)/.llama-cpp-portable
LLAMA_LOG        := $(VENV)/llama-cpp-build.log

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet --no-deps --no-index --find-links $(TORCH_WHEELS) torch==2.13.0
	test -f $(LLAMA_STAMP) || { echo "Compiling llama.cpp for llama-cpp-python 0.3.36 (5-8 minutes on 2 cores;" \
	  "each file as it compiles below, the whole log in $(LLAMA_LOG)): $(LLAMA_BUILD_NAME)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" bash -o pipefail -c '$(BIN)/python -m pip install -v --no-cache-dir \
	  --force-reinstall --no-deps llama-cpp-python==0.3.36 2>&1 | tee $(LLAMA_LOG) | \
	  { sed -unE "s|^ *\[ *([0-9]+/[0-9]+)\] .* -c [^ ]*/([^ /]+)\$$|  [\1] \2|p"; true; }' \
	  || { tail -n 30 $(LLAMA_LOG); echo "llama-cpp-python did not build: $(LLAMA_LOG)"; exit 1; }; \
	  touch $(LLAMA_STAMP); }
	$(BIN)/python -m pip install --quiet -e '.[models,api,test,minilm,ctranslate2,ray,embedding,ui,mlflow,wandb,hf]'
	$(BIN)/python -c "import torch; assert torch.version.cuda is None, 'a CUDA build of torch was installed'"
	touch $(STAMP)

run: setup
	$(BIN)/evalharness run configs/seeds.yaml

# The browser tests (report.html rendered, `evalharness ui` driven through Playwright's executable_path) and
# bench/ui.py use headless Chromium: Debian's package, installed when missing (CI runs `make test` as root on a
# fresh machine; elsewhere through sudo). Playwright's own browser download is never used.
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# Every test, spread over every core (pytest-xdist, one test file per worker at a time: module fixtures are
# built once). The workers share one translation cache for the main job's runs (tests/conftest.py).
test: setup $(CHROMIUM)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# The development tier: everything but the slow whole-config runs and the browser test (skips are counted),
# on every core as above.
test-quick: setup
	$(BIN)/python -m pytest -q --quick -n auto --dist loadfile

# ruff (lint + format check) and mypy, configured in pyproject.toml. The tools (the `lint` extra) are installed
# into the venv once, again when pyproject.toml changes.
LINT_STAMP := $(VENV)/.lint-installed

$(LINT_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	touch $(LINT_STAMP)

lint: setup $(LINT_STAMP)
	$(BIN)/ruff check evalharness tests bench scripts
	$(BIN)/ruff format --check evalharness tests bench scripts
	$(BIN)/mypy

bench: setup $(CHROMIUM)
	$(BIN)/python bench/score.py
	$(BIN)/python bench/translate.py
	$(BIN)/python bench/significance.py
	$(BIN)/python bench/align.py
	$(BIN)/python bench/long_document.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/install_size.py
	$(BIN)/python bench/ui.py

# COMET (unbabel-comet 2.2.7) in an environment of its own: it pins transformers < 5, numpy < 2 and
# huggingface-hub < 1, which the main environment has outgrown. evalharness talks to it through the command
# metric and scorers/comet_score.py (docs/metric-protocol.md). torch first, from the local CPU wheel only, as
# above; comet's install then keeps that torch (torch==2.13.0 is part of the request, so pip may not swap it
# for a CUDA build) and installs torch's own requirements with comet's. `pip check` proves nothing is missing.
# setuptools < 81: comet's torchmetrics 0.10 imports pkg_resources, which setuptools 81 removed (torch: >= 77.0.3).
COMET_VENV  := .venv-comet
COMET_STAMP := $(COMET_VENV)/.installed

comet-env: $(COMET_STAMP)

$(COMET_STAMP):
	test -x $(COMET_VENV)/bin/python || $(PYTHON) -m venv $(COMET_VENV)
	$(COMET_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMET_VENV)/bin/python -c "import torch" 2>/dev/null || \
	  $(COMET_VENV)/bin/python -m pip install --quiet --no-deps --no-index --find-links $(TORCH_WHEELS) torch==2.13.0
	$(COMET_VENV)/bin/python -m pip install --quiet unbabel-comet==2.2.7 torch==2.13.0 'setuptools>=77.0.3,<81'
	$(COMET_VENV)/bin/python -m pip check
	$(COMET_VENV)/bin/python -c "import torch, comet; assert torch.version.cuda is None, 'a CUDA build of torch was installed'"
	touch $(COMET_STAMP)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
