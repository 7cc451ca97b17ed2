# ahtga: one entry point for set-up, tests, the main job and the paper.
#   make all    simulations (quick scale), symbolic checks, tiny experiments, figures, tables, PDF
#   make test   set-up included: runs the whole test suite
SHELL := /bin/bash
PYTHON_SYS ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ahtga-installed
RESULTS ?= results
SCALE ?= quick
PYTEST_ARGS ?=
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: all setup test bench theory sim experiments figures paper clean help

all: sim theory experiments figures paper

help:
	@sed -n '1,4p' Makefile

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The pinned CPU build first: an unpinned torch pulls a several-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	mkdir -p bench/out
	$(PY) -m bench.run_all --out bench/out

sim: $(STAMP)
	$(PY) -m sim.bias run --scale $(SCALE) --out $(RESULTS)/bias
	$(PY) -m sim.bias report --results $(RESULTS)/bias --out $(RESULTS)/bias_report

theory: $(STAMP)
	$(PY) -m theory.run_all --out paper/generated --mutations

experiments: $(STAMP)
	$(PY) -m ahtga.experiments run-all --scale tiny --out $(RESULTS)/experiments

figures: $(STAMP)
	$(MAKE) -C paper figures PY=$(abspath $(PY)) RESULTS=$(abspath $(RESULTS))

paper: figures
	$(MAKE) -C paper pdf PY=$(abspath $(PY)) RESULTS=$(abspath $(RESULTS))

clean:
	rm -rf $(RESULTS) bench/out paper/generated
