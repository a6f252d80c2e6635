# One task runner. `make demo` sets up and runs an agent on the local model; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= all,dev
TASK ?= How many prime numbers are there below 1000?
# Test processes (a test file runs whole in one, in its order). Two take about 7 instead of 10 minutes on
# an idle 2-core machine, but on busy cores the Neo4j stress test then times out its connections:
# one by default, TEST_WORKERS=2 where the cores are free.
TEST_WORKERS ?= 1
XDIST := $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

NEO4J_SERVER := services/neo4j/target/smolnb-neo4j-1.0.jar
PHOENIX_VERSION := 20.26.1
PHOENIX := .venv-phoenix/bin/phoenix

.PHONY: help install demo test test-fast check lint bench bench-quality clean neo4j-server neo4j phoenix-env phoenix
.DEFAULT_GOAL := help

help:  ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependencies change (pip keeps built wheels, e.g. llama-cpp-python, in its cache).
$(VENV)/.installed-$(EXTRAS): pyproject.toml smolnb/executor/_speedups.c | $(BIN)/python
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(VENV)/.installed-$(EXTRAS)  ## the virtual environment with every extra (EXTRAS=all,dev)

# The main job needs only the local model: no test or notebook dependencies.
demo:  ## set up the local model and run an agent on TASK
	$(MAKE) install EXTRAS=local
	$(BIN)/smolnb run -v "$(TASK)"

# The Neo4j test server: embedded Neo4j 5.26 from Maven Central (~/.m2 caches it).
$(NEO4J_SERVER): services/neo4j/pom.xml services/neo4j/src/main/java/dev/smolnb/Neo4jServer.java
	cd services/neo4j && mvn -q -B -DskipTests package dependency:copy-dependencies -DoutputDirectory=target/lib

neo4j-server: $(NEO4J_SERVER)  ## build the embedded Neo4j (Java 17 and Maven)

neo4j: install neo4j-server  ## start a local Neo4j with authentication and print its URI (Ctrl-C stops it)
	$(BIN)/smolnb services neo4j

# The Phoenix trace viewer, in its own environment (its dependencies stay out of the project's).
$(PHOENIX):
	$(PYTHON) -m venv .venv-phoenix
	.venv-phoenix/bin/pip install -q arize-phoenix==$(PHOENIX_VERSION)

phoenix-env: $(PHOENIX)

phoenix: $(PHOENIX)  ## start the Phoenix trace viewer on 127.0.0.1:6006 (Ctrl-C stops it)
	@echo "then: SMOLNB_PHOENIX_URL=http://127.0.0.1:6006 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:6006"
	PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=6006 PHOENIX_TELEMETRY_ENABLED=false $(PHOENIX) serve

test: install neo4j-server phoenix-env  ## every test, real services included
	$(BIN)/python -m pytest -q $(XDIST) --durations=15

test-fast: install  ## the tests that need no local model
	$(BIN)/python -m pytest -q -m "not local_model"

check: install  ## lint, format and types, as CI runs them
	$(BIN)/ruff check smolnb tests bench
	$(BIN)/ruff format --check smolnb tests bench
	$(BIN)/mypy

lint: check

# Every speed figure in the README, each against the engine underneath in the same run; the
# outputs land in bench/out/ and the plots (PNG) in bench/. Agent quality is its own target (long).
BENCHES := overhead executor long_run local_model memory_speed throughput eval_throughput notebook state
bench: install neo4j-server  ## every speed bench, outputs in bench/out/
	mkdir -p bench/out
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py 2>&1 | tee bench/out/$$b.txt || exit 1; done

bench-quality: install  ## agent quality on the local models (long)
	$(BIN)/python bench/agent_quality.py 2>&1 | tee bench/out/agent_quality.txt

clean:  ## remove the virtual environments
	rm -rf $(VENV) .venv-phoenix .pytest_cache
