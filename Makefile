# The book's two commands (see README.md):
#   make book   build the HTML book into _build/html, and its Chinese edition into _build/html/zh_CN
#               (creates .venv and installs everything first)
#   make catalogs  update the Chinese edition's translation catalogs (locale/zh_CN) after an English change
#   make test   run the whole test suite: unit tests, nbval over every notebook, the grader's tests
#   make lint   ruff over lib/, tests/ and benchmarks/ (the rules are in pyproject.toml); make test runs it first
#   make unit   only the library's unit tests (no notebooks, no browser, no grader, no long recipes): < 2 minutes
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
# Notebooks must render their own figures: never inherit a non-interactive backend.
unexport MPLBACKEND
PYTEST_WORKERS ?= 2

.PHONY: install book catalogs lint test unit browser sandbox clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@echo "Creating $(VENV) and installing the pinned requirements (about 2 minutes the first time)..."
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt > $(VENV)/install.log 2>&1 \
		|| (grep -v 'is ignored' $(VENV)/install.log | tail -40; exit 1)
	@# test-only dependencies, pinned exactly (an unpinned torch downloads a multi-GB CUDA build)
	@$(BIN)/pip install --disable-pip-version-check -q -e ".[test]" >> $(VENV)/install.log 2>&1 \
		|| (grep -v 'is ignored' $(VENV)/install.log | tail -40; exit 1)
	touch $(STAMP)

# Both editions, each with -W: English first, then the Chinese edition from locale/zh_CN (i18n/zh.py).
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python i18n/zh.py build

# Extract the English messages and merge them into locale/zh_CN/LC_MESSAGES/*.po (see README.md).
catalogs: $(STAMP)
	$(BIN)/python i18n/zh.py catalogs

lint: $(STAMP)
	$(BIN)/ruff check

# A notebook cell may take up to 10 minutes: the grader's batch test runs two sandboxed jobs of its own beside
# the notebooks, so a heavy training cell can get a third of the 2 cores for a while.
test: lint browser sandbox
	$(BIN)/python -m pytest -rs -n $(PYTEST_WORKERS) --dist loadfile \
		--nbval --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600 \
		tests chapters exercises solutions

# The library's unit tests alone, for a quick check while editing lib/rnnbook (tests mirror its modules).
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow and not notebook and not browser and not grading" tests

# The browser test needs Chromium (or Chrome). On CI (CI=true) install Debian's chromium when none is
# there; elsewhere the test is skipped, with its reason, when no browser is found.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ "$$CI" = "true" ] && ! command -v chromium >/dev/null 2>&1 \
		&& ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser test..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium > /dev/null; \
	fi

# The grader runs learners' notebooks inside bubblewrap where it can (Debian's bubblewrap package); on CI
# (CI=true) install it when it is missing. Elsewhere the grader says it runs without a sandbox, and the tests
# that need one are skipped with their reason.
sandbox:
	@if [ "$$CI" = "true" ] && ! command -v bwrap >/dev/null 2>&1; then \
		echo "Installing Debian's bubblewrap for the grader's sandbox..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq bubblewrap > /dev/null; \
	fi

clean:
	rm -rf _build $(VENV)
