# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo lint clean package package-test lock upgrade-test web-assets

# Every install comes from requirements.lock: exact versions and hashes of every dependency of run, test and
# package, for Linux x86_64 / Python 3.11, made by `make lock`. INSTALL=latest resolves pyproject's ranges
# afresh instead (upgrade-test), so that a new release is tried on purpose, never met by accident.
LOCK := requirements.lock
INSTALL ?= locked

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
ifeq ($(INSTALL),latest)
	$(BIN)/pip install --quiet --upgrade torch==2.13.0
	$(BIN)/pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev,package,postgres]"
else
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
endif
	touch $(STAMP)

# The web demo's JavaScript (`workbench deploy --format web`): onnxruntime-web and tokenizers.js from the npm
# registry as resources/web/package-lock.json pins them (npm ci checks every integrity hash), into the ignored
# resources/web/node_modules. Fetched here, at install time, never when a user deploys; the package carries it.
WEB_ASSETS := resources/web/node_modules/.package-lock.json

$(WEB_ASSETS): resources/web/package.json resources/web/package-lock.json
	npm ci --prefix resources/web --ignore-scripts --no-audit --no-fund
	touch $(WEB_ASSETS)

web-assets: $(WEB_ASSETS)

# Refreshes the lock on purpose to the newest releases pyproject's ranges admit; then run `make test
# package-test` and commit the lock with what changed.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --all-extras --upgrade --generate-hashes --no-header \
		--annotation-style line --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--find-links /opt/wheels --constraint requirements.pins --output-file $(LOCK)

# The packaged app built and self-tested on the newest releases, in its own venv and dist folder.
upgrade-test:
	$(MAKE) VENV=.venv-latest DIST=dist-latest INSTALL=latest package-test

run: $(STAMP) $(WEB_ASSETS)
	$(BIN)/workbench-gui resources/presets/quick-demo.yaml

# Two pytest-xdist workers, one a core on the 2-core machines it is timed on (tests/conftest.py gives each worker
# one torch thread and starts the slowest files first); --dist loadfile keeps a file's tests on one worker, so a
# module fixture is built once.
test: $(STAMP) $(WEB_ASSETS)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

demo: $(STAMP)
	$(BIN)/workbench run resources/presets/quick-demo.yaml

# The packaged desktop app (packaging/): a PyInstaller onedir folder in dist/ and a tar.gz of it.
DIST ?= dist
APP := $(DIST)/tinybert-workbench
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
ARCHIVE := $(DIST)/tinybert-workbench-$(VERSION)-linux-$(shell uname -m).tar.gz
APP_SOURCES := $(shell find workbench resources packaging -type f -not -path '*/__pycache__/*' \
	-not -path '*/node_modules/*') pyproject.toml

$(APP)/tinybert-workbench: $(STAMP) $(WEB_ASSETS) $(APP_SOURCES)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath $(DIST) --workpath build/pyinstaller-$(DIST) \
		packaging/tinybert-workbench.spec
	cp packaging/install.sh packaging/tinybert-workbench.desktop packaging/README.txt $(APP)/
	touch $(APP)/tinybert-workbench

$(ARCHIVE): $(APP)/tinybert-workbench
	tar -C $(DIST) -czf $(ARCHIVE) tinybert-workbench

package: $(ARCHIVE)
	@du -sh $(APP) $(ARCHIVE)

package-test: $(ARCHIVE)
	PYTHON=$(BIN)/python packaging/package_test.sh $(APP)/tinybert-workbench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .venv-latest build dist dist-latest *.egg-info resources/web/node_modules
