# The two commands of the README:
#   make run   -> install (if needed) and run the main job on the small default config
#   make test  -> install (if needed) and run the test suite
# ICEBENCH_ENV names the environment (default .venv); CORES the cores Snakemake may use.
# The install prints one line per stage; its build output goes to $(ICEBENCH_ENV)/install.log.
ICEBENCH_ENV ?= $(CURDIR)/.venv
CORES ?= 2
PYTEST_ARGS ?=
export ICEBENCH_ENV

.PHONY: install run test test-slow

install:
	@bash scripts/install.sh

run: install
	$(ICEBENCH_ENV)/bin/snakemake --cores $(CORES)

test: install
	$(ICEBENCH_ENV)/bin/python -m pytest $(PYTEST_ARGS)

test-slow: install
	ICEBENCH_TEST_SCALE=full $(ICEBENCH_ENV)/bin/python -m pytest -m slow $(PYTEST_ARGS)
