# make run: set up (once) and run the default experiment.  make test: set up (once) and run the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-slow bench bench-quick clean

install: $(STAMP)

# torch and torchvision are resolved together from the registry (plain ranges in pyproject.toml).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/rnnlab

test: install
	$(BIN)/python -m pytest -q

# The tests marked slow alone (Ray, submitit, Optuna, real MNIST from ../shared/data when present), one at a time: a local
# Ray sweep would join the cluster another test starts.
test-slow: install
	$(BIN)/python -m pytest -q -m slow -n 0

bench: install               # outputs/bench/bench.md and bench.json (several minutes)
	$(BIN)/python scripts/bench.py

bench-quick: install         # the same table at toy size (< 1 min)
	$(BIN)/python scripts/bench.py --quick

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
