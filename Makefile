# The two set-up commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# torch is pinned first so pip never swaps in another build: on CPU machines this takes the
# CPU wheel; on GPU machines install the CUDA build of your choice before `make`.
TORCH ?= torch==2.13.0
DEMO_OUT ?= runs/demo
DEMO_PRESET ?= demo

.PHONY: install install-dev demo test lint

install:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	$(PIP) install -e .

install-dev:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	$(PIP) install -e ".[dev]"

demo: install
	$(PYTHON) -m movierep demo --out $(DEMO_OUT) --preset $(DEMO_PRESET)

lint:
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m ruff format --check src tests benchmarks
	$(PYTHON) -m mypy

test: install-dev lint
	$(PYTHON) -m pytest -q
