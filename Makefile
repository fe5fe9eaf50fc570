# The two set-up commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# torch is pinned first so pip never swaps in another build: on CPU machines this takes the
# CPU wheel; on GPU machines install the CUDA build of your choice before `make`.
TORCH ?= torch==2.13.0
DEMO_OUT ?= runs/demo
DEMO_PRESET ?= demo

.PHONY: install install-dev browser demo test lint

install:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	$(PIP) install -e .

install-dev:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	$(PIP) install -e ".[dev]"
	@$(MAKE) --no-print-directory browser

# tests/test_web.py drives Debian's chromium with its chromedriver (selenium never downloads a
# browser): installed with apt-get when missing and apt-get can run; a no-op when present.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "browser test: no apt-get; install chromium + chromedriver (or set MOVIEREP_NO_BROWSER=1)"; \
	  else \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	    echo "installing chromium and chromium-driver with apt-get (for tests/test_web.py)"; \
	    { $$SUDO apt-get update -qq && \
	      $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	    } >/dev/null 2>&1 \
	      || echo "browser test: apt-get could not install chromium + chromium-driver"; \
	  fi; }

demo: install
	$(PYTHON) -m movierep demo --out $(DEMO_OUT) --preset $(DEMO_PRESET)

lint:
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m ruff format --check src tests benchmarks
	$(PYTHON) -m mypy

test: install-dev lint
	$(PYTHON) -m pytest -q
