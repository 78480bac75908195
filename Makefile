# Every target sets up what it needs: a fresh clone only needs Python 3.11 and `make`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
PY     := $(BIN)/python

# nbgrader shells out to `alembic`, so the venv's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
# The kit never needs the Hugging Face Hub on this path: fail fast instead of hanging.
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test test-fast release sources handout lab grade export examples labextension lint clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name finetune-kit --display-name "Python (finetune-kit)" >/dev/null
	mkdir -p $(VENV)/share/jupyter/labextensions  # the picker's JupyterLab side (prebuilt, see labextension/)
	ln -sfn $(CURDIR)/finetune_kit/jupyter/labextensions/finetune-kit-answers $(VENV)/share/jupyter/labextensions/
	touch $@

setup: $(VENV)/.installed  ## create .venv and install the pinned environment (and bubblewrap, where it can)
	@command -v bwrap >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	  echo "note: bubblewrap is not installed; grading confines its workers with unshare instead"

PROFILE ?= offline
demo: setup  ## the main job: run every solution notebook, rebuild the release, grade a sample
	$(PY) -m finetune_kit demo --profile $(PROFILE)

PYTEST_ARGS ?=
# one pytest-xdist worker per core; a module's tests and a notebook's cells stay in one worker (TEST_JOBS=0: serial)
TEST_JOBS ?= auto
PARALLEL := $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadscope)
test: setup  ## every test, offline
	$(PY) -m pytest $(PARALLEL) $(PYTEST_ARGS)

test-fast: setup  ## unit tests only (no notebooks, no nbgrader; a few minutes)
	$(PY) -m pytest -m "not slow" $(PARALLEL) $(PYTEST_ARGS)

sources: setup  ## rebuild solutions/ from the jupytext sources autograde/sources/*/*.py
	cd autograde && $(PY) notebook_source.py

release: setup  ## regenerate notebooks/ (student release) from solutions/ with nbgrader
	$(PY) -m finetune_kit release

HANDOUT ?= build/handout
handout: setup  ## what students receive, answer-free: make handout [HANDOUT=folder or file.zip]
	$(PY) -m finetune_kit handout --output $(HANDOUT)

lab: setup  ## open the course in JupyterLab
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)

SUBMISSIONS ?= autograde/examples/class
GRADED ?= graded
grade: setup  ## grade a class: make grade SUBMISSIONS=class.zip [GRADED=folder] (report: GRADED/report.html)
	$(PY) -m finetune_kit grade $(SUBMISSIONS) --output $(GRADED)

LMS ?= canvas
export: setup  ## the LMS import files of a graded class: make export [GRADED=graded] [LMS=canvas|moodle|blackboard]
	$(PY) -m finetune_kit export $(GRADED) --lms $(LMS)

examples: setup  ## regenerate the sample class in autograde/examples/ from the release and solutions
	$(PY) autograde/examples/make_examples.py

labextension:  ## rebuild the picker's JupyterLab extension (needs node; the build is committed)
	cd labextension && npm ci --no-audit --no-fund && $(BIN)/jupyter-builder build .

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf build outputs graded
