# make run: set up (once) and run the default experiment.  make test: set up (once) and run the tests.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install run test lint test-slow bench bench-quick clean

install: $(STAMP)

# torch and torchvision are resolved together from the registry (plain ranges in pyproject.toml).
# It says what it does while it installs: a first install takes a few minutes, silence would look like a hang.
$(STAMP): pyproject.toml
	@echo "rnnlab: installing into $(VENV): rnnlab, torch, Hydra, TensorBoard and the test tools"
	@echo "rnnlab: the first time this takes a few minutes; later runs skip it"
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) || exit $$?; \
	if ! command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "rnnlab: no GPU here: trying PyTorch's CPU-only wheels first (a fraction of the CUDA build's size)"; \
	  $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off --timeout 20 --retries 1 \
	    --index-url $(TORCH_CPU_INDEX) 'torch>=2.2' 'torchvision>=0.17' >/dev/null 2>&1 \
	    || echo "rnnlab: the CPU-only index could not be reached: torch comes from the default index"; \
	  $(BIN)/python -c "import torch, torchvision, torchvision.ops; torchvision.ops.nms" >/dev/null 2>&1 \
	    || { echo "rnnlab: no working CPU-only torch and torchvision pair: torch comes from the default index"; \
	         $(BIN)/python -m pip uninstall -y -q torch torchvision >/dev/null 2>&1; }; \
	fi; \
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]' 2>&1 \
	  | grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed|ERROR)' | cut -c1-110; \
	status=$${PIPESTATUS[0]}; [ $$status -eq 0 ] || exit $$status; \
	$(BIN)/python -c "import torch; print('rnnlab: torch', torch.__version__, '(CUDA ' + torch.version.cuda + ' build)' if torch.version.cuda else '(CPU-only build)')"; \
	echo "rnnlab: installed in $$(( $$(date +%s) - start )) s; $(VENV) is $$(du -sh $(VENV) | cut -f1)"
	touch $(STAMP)

run: install
	$(BIN)/rnnlab

# The linter, the format check and the type checker first (~5 s; their settings are in pyproject.toml), then the tests.
test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy

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
