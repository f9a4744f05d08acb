# EdgeQ: `make bench` and `make test` on a fresh machine (the environment is created on first use).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TARGET ?= local-cpu
STAMP := $(VENV)/.edgeq-installed

.PHONY: setup bench test publish ui fidelity clean

setup: $(STAMP)

# torch is pinned to the CPU build in pyproject.toml (an unpinned torch pulls a multi-GB CUDA build).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

bench: setup
	$(BIN)/edgeq bench --target $(TARGET) $(ARGS)

test: setup
	$(BIN)/python -m pytest -q $(ARGS)

publish: setup
	$(BIN)/edgeq publish $(ARGS)

ui: setup
	$(BIN)/edgeq ui

fidelity: setup
	$(BIN)/edgeq fidelity --target $(TARGET) $(ARGS)

clean:
	rm -rf $(VENV) results/records results/leaderboard results/cache results/mlflow.db results/mlartifacts
