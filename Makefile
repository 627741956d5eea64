# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= full

.PHONY: book test venv lint clean

venv: $(VENV)/.installed

# torch/torchvision are pinned exactly in pyproject.toml (a range would pull a multi-GB CUDA build).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

book: venv
	$(PY) -m weakness_lib.cli book --scale $(SCALE)

test: venv
	$(PY) -m pytest -q

lint: venv
	$(PY) -m ruff check weakness_lib tests

clean:
	rm -rf _build results/smoke
