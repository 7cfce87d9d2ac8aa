# The two commands of the README: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= prod

.PHONY: run dev test lint http-localstack unit http browser browser-deps viewer-deps viewer-vendor install clean package lint-template \
	ffmpeg

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"  # chalice 1.34 packages with pip and requires pip<26.3
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# `make run` never reloads (a tool's cache written into the checkout would restart the server and drop requests in
# flight); `make dev` is the same stack with chalice's reloader, restarting on any change under the checkout.
run: $(STAMP)
	$(PY) scripts/local_stack.py

dev: $(STAMP)
	LOCAL_STACK_AUTORELOAD=1 $(PY) scripts/local_stack.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -m "not http and not browser"

http: $(STAMP)
	$(PY) -m pytest -m http

# The HTTP suite with S3 on LocalStack's native S3, which checks presigned URLs' signatures (moto accepts expired,
# tampered and re-scoped ones), and DynamoDB on moto. LocalStack runs on the host from its own Python 3.13 venv.
# pyenv's 3.13 when there is one (its `python3.13` shim answers only where 3.13 is selected), else python3.13
LOCALSTACK_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
LS_VENV := .venv-localstack
LS_STAMP := $(LS_VENV)/.installed

$(LS_STAMP): requirements-localstack.txt
	test -x $(LS_VENV)/bin/python || $(LOCALSTACK_PYTHON) -m venv $(LS_VENV) || { \
	  echo "LocalStack needs Python 3.13: set LOCALSTACK_PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(LS_VENV)/bin/python -m pip install -q -r requirements-localstack.txt
	touch $(LS_STAMP)

http-localstack: $(STAMP) $(LS_STAMP)
	$(PY) scripts/localstack_s3.py $(LS_VENV)/bin/python -- $(PY) -m pytest -m http

browser: $(STAMP) browser-deps viewer-deps
	$(PY) -m pytest -m browser

# The browser tests drive Debian's Chromium with Playwright (never a browser of Playwright's own download).
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM): install Debian's package ('apt-get install chromium', as root)," >&2; \
		echo "or point CHROMIUM=/path/to/chromium at another build, or skip them: pytest -m 'not browser'." >&2; \
		exit 1; \
	fi

# The viewer's npm packages (viewer/package-lock.json). Their dist files that the app serves are committed under
# chalicelib/static/viewer/vendor (Chalice packages only chalicelib/); `make viewer-vendor` refreshes them after a
# version change, and a browser test fails if they differ from the locked package.
VIEWER_MODULES := viewer/node_modules/.package-lock.json
PLAYER_DIST := viewer/node_modules/asciinema-player/dist/bundle
VENDOR := chalicelib/static/viewer/vendor

$(VIEWER_MODULES): viewer/package.json viewer/package-lock.json
	cd viewer && npm ci --no-audit --no-fund --loglevel=error
	touch $@

viewer-deps: $(VIEWER_MODULES)

viewer-vendor: $(VIEWER_MODULES)
	cp $(PLAYER_DIST)/asciinema-player.min.js $(PLAYER_DIST)/asciinema-player.css $(VENDOR)/
	cp viewer/node_modules/asciinema-player/LICENSE $(VENDOR)/LICENSE.asciinema-player

# `chalice package` reads no AWS account, but botocore insists on a region and credentials: placeholders, so a clean
# checkout packages with none configured. The merge template is YAML, so Chalice writes build/sam.yaml.
PACKAGE_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=packaging-needs-no-credentials AWS_SECRET_ACCESS_KEY=packaging-needs-no-credentials

package: $(STAMP)
	rm -rf build
	$(PACKAGE_ENV) $(VENV)/bin/chalice package --stage $(STAGE) --merge-template infra/resources.yaml build/

# Fails on any error (and on warnings too: a warning today is tomorrow's failed deploy).
lint-template: package
	$(VENV)/bin/cfn-lint build/sam.yaml

# The WebM tests encode, probe and decode real video with Debian's ffmpeg (tests/support/webm.py).
ffmpeg:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; \
	  else echo "ffmpeg is missing: run 'sudo apt-get install -y ffmpeg' (make test installs it when run as root)" >&2; \
	  exit 1; fi; }

unit: ffmpeg

test: $(STAMP) browser-deps viewer-deps ffmpeg lint lint-template
	$(PY) -m pytest

clean:
	rm -rf $(VENV) $(LS_VENV) build .pytest_cache .mypy_cache .ruff_cache viewer/node_modules
