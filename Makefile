# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo lint clean package package-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first and pinned: that exact version is the CPU wheel; an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/workbench-gui resources/presets/quick-demo.yaml

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/workbench run resources/presets/quick-demo.yaml

# The packaged desktop app (packaging/): a PyInstaller onedir folder in dist/ and a tar.gz of it.
APP := dist/tinybert-workbench
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
ARCHIVE := dist/tinybert-workbench-$(VERSION)-linux-$(shell uname -m).tar.gz
PACKAGE_STAMP := $(VENV)/.installed-package
APP_SOURCES := $(shell find workbench resources packaging -type f -not -path '*/__pycache__/*') pyproject.toml

$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,package]"
	touch $(PACKAGE_STAMP)

$(APP)/tinybert-workbench: $(PACKAGE_STAMP) $(APP_SOURCES)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/tinybert-workbench.spec
	cp packaging/install.sh packaging/tinybert-workbench.desktop packaging/README.txt $(APP)/
	touch $(APP)/tinybert-workbench

$(ARCHIVE): $(APP)/tinybert-workbench
	tar -C dist -czf $(ARCHIVE) tinybert-workbench

package: $(ARCHIVE)
	@du -sh $(APP) $(ARCHIVE)

package-test: $(ARCHIVE)
	packaging/package_test.sh $(APP)/tinybert-workbench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build dist *.egg-info
