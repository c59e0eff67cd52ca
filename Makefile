# Waypoint: `make run` starts the dashboard on the demo clinic; `make test` runs every test.
# Both install what is missing first (a virtualenv in .venv; Debian's chromium for browser tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/waypoint.duckdb
PORT   ?= 8501
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install chromium demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark]'
	touch $@

install: $(BIN)/.installed

chromium:
	@command -v /usr/bin/chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(DB): | install
	$(BIN)/waypoint demo --db $(DB)

demo: $(DB)

run: install $(DB)
	$(BIN)/waypoint serve --db $(DB) --port $(PORT)

test: install chromium
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache
