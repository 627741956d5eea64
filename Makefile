# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= full

.PHONY: book test venv lint clean bench

venv: $(VENV)/.installed

# torch/torchvision are pinned exactly in pyproject.toml (a range would pull a multi-GB CUDA build).
# Not --no-compile: with PYTHONDONTWRITEBYTECODE=1 (set on these machines) Python never writes
# bytecode itself, so pip's is the only one: without it every process imports torch, pandas and
# matplotlib from source (9 s instead of 4 s, measured) and a clean-clone CI took 782 s (578 s
# after undoing it).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

book: venv
	$(PY) -m weakness_lib.cli book --scale $(SCALE)

# 2 pytest-xdist workers; the tests of the smoke book stay together on one (conftest.py).
# TEST_WORKERS=0 runs in one process. The 25 slowest tests are listed (where CI's time goes).
TEST_WORKERS ?= 2
test: venv
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=25

# Speed benchmarks (benchmarks/README.md); results go to benchmarks/results/*.json.
bench: venv
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	nice -n 10 $(PY) benchmarks/bench_gemm.py
	nice -n 10 $(PY) benchmarks/bench_curvature.py
	nice -n 10 $(PY) benchmarks/bench_training.py
	nice -n 10 $(PY) benchmarks/bench_runner.py
	$(PY) benchmarks/bench_book.py smoke

lint: venv
	$(PY) -m ruff check weakness_lib tests benchmarks

clean:
	rm -rf _build results/smoke
