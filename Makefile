PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean sample-data

# The package's bytecode is written at install (compileall): where PYTHONDONTWRITEBYTECODE is
# set, as here, every command would otherwise compile ~90 modules again (0.1 s of each start).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q fraudcli
	touch $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m compileall -q fraudcli
	$(BIN)/python -m bench

sample-data: $(STAMP)
	$(BIN)/python -m scripts.make_sample_data

clean:
	rm -rf $(VENV) fraud-model .pytest_cache
