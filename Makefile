# The two commands of the README: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= prod

.PHONY: run test lint unit http install clean package lint-template ffmpeg

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"  # chalice 1.34 packages with pip and requires pip<26.3
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/local_stack.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -m "not http and not browser"

http: $(STAMP)
	$(PY) -m pytest -m http

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

# The WebM tests encode, probe and decode real video with Debian's ffmpeg (tests/webm_fixtures.py).
ffmpeg:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; \
	  else echo "ffmpeg is missing: run 'sudo apt-get install -y ffmpeg' (make test installs it when run as root)" >&2; \
	  exit 1; fi; }

unit: ffmpeg

test: $(STAMP) ffmpeg lint lint-template
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
