# Two commands a user needs (see README.md):
#   make run    set up .venv if needed, then run the whole workflow on config.yaml
#   make test   set up .venv if needed, then lint the workflow and run the test suite (installs
#               nothing on the host: `make slurm-deps` installs what the SLURM tests need)
#   make gpu-check  on a CUDA machine: measure the GPU path (< 8 min); quick CPU mode without a GPU
#   make test-fast  the everyday subset: no Snakemake subprocess, no SLURM, no real training
#   make plan   project the jobs, CPU/GPU-hours, memory, disk and wall-clock on GPUS of CONFIG before running it
#   make study  the size x captions-per-image study on the world (workflow/config/study.yaml)
# Everything is idempotent: a second `make run` only redoes what is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
CONFIG ?= config.yaml
SNAKEMAKE_ARGS ?=
# Targets of `make run` (default: everything the configuration defines); they go before
# --configfile, where Snakemake would read them as more config files.
TARGETS ?=
# Local settings (show failed logs, rerun incomplete jobs); Snakemake only finds profiles/default by itself.
PROFILE := --workflow-profile workflow/profiles/default

.PHONY: setup run plan study test test-fast lint format bench gpu-check report rulegraph readme-figures slurm-deps

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: setup
	@start=$$(date +%s); \
	$(BIN)/snakemake $(TARGETS) $(PROFILE) --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS) && \
	end=$$(date +%s) && \
	echo "Workflow finished in $$((end - start)) s wall time on $(CORES) cores." && \
	echo "Tables:  results/tables/    Figures: results/figures/    Logs: results/logs/"

# Jobs of each kind with projected CPU core-hours, GPU-hours, peak memory and disk (vgs_ops.projection), from
# the corpora's published sizes (or their manifests once loaded), and the wall-clock of the whole run on
# GPUS GPUs and on one (vgs_ops.schedule); runs nothing.
GPUS ?= 8
plan: setup
	$(BIN)/python -m vgs_ops.projection $(CONFIG) --gpus $(GPUS)

# The study's 48 models and its tables and figure only (the world's other models are not trained).
study:
	@$(MAKE) --no-print-directory run TARGETS=study CONFIG="config.yaml workflow/config/study.yaml"

# Snakemake's own lint and snakefmt for the rules; ruff (pinned in requirements.txt, settings in
# pyproject.toml) for the package, the rule scripts and the tests.
lint: setup
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check workflow tests
	$(BIN)/ruff format --check workflow tests

format: setup
	$(BIN)/snakefmt Snakefile workflow/rules
	$(BIN)/ruff format workflow tests

# Installs nothing on the host: without SLURM (`make slurm-deps`) the SLURM tests are skipped and
# named in pytest's summary (they fail under CI=true instead; .ci/run installs them first).
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Tests marked slow (Snakemake subprocesses, training, real-data model runs) or slurm are left out.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not slurm" $(PYTEST_ARGS)

# SLURM + MariaDB for tests/test_slurm.py, only when asked: installed as root with apt-get, else the
# command is printed (those tests then skip under `make test`, and fail under CI=true).
slurm-deps: setup
	$(BIN)/python -m vgs_ops.cluster.local_slurm deps

bench: setup
	$(BIN)/python -m vgs_ops.bench --out results/benchmarks $(BENCH_ARGS)

# GPU readiness check: results/benchmarks/gpu.json + gpu.md (BENCH_ARGS=--quick for a smoke run).
gpu-check: setup
	$(BIN)/python -m vgs_ops.bench --only gpu --out results/benchmarks $(BENCH_ARGS)

report: setup
	$(BIN)/snakemake $(PROFILE) --cores $(CORES) --configfile $(CONFIG) --report results/report.html

rulegraph: setup
	$(BIN)/snakemake --configfile $(CONFIG) --rulegraph | $(BIN)/python -m vgs_ops.rulegraph workflow/report/rulegraph.svg

# Copies of the embedded world's figures that the README shows (after `make run`).
readme-figures:
	mkdir -p workflow/report/readme
	cp results/figures/world/figure1.png results/figures/world/figure2.png \
		results/figures/learning_curves.png workflow/report/readme/
	# The study's figure, once `make study` has drawn it.
	if [ -f results/figures/study/world/study.png ]; then \
		cp results/figures/study/world/study.png workflow/report/readme/; fi
