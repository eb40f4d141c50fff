# One command each: `make demo` (set up, run the virtual printer, print the examples)
# and `make test` (set up, run the test suite). Both create ./.venv on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FILMS  ?= films

.PHONY: demo test typecheck bench fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/print_examples.py --output $(FILMS)

test: $(VENV)/.installed
	$(PY) -m pytest

typecheck: $(VENV)/.installed
	$(PY) -m mypy

bench: $(VENV)/.installed
	$(PY) benchmarks/suite.py

fuzz: $(VENV)/.installed
	$(PY) benchmarks/fuzz.py --cases 20000

clean:
	rm -rf $(VENV) $(FILMS) .pytest_cache
