# Two commands do everything on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := run

# The engine needs Python 3.10 (rasa 3.6); the app runs on Python 3.11.
# A candidate counts only if it really runs that version (pyenv shims may exist but refuse).
find_python = $(firstword $(foreach p,$(1),$(shell $(p) -c 'import sys; assert sys.version_info[:2] == $(2)' 2>/dev/null && echo $(p))))
PY310 ?= $(call find_python,python3.10 $(wildcard /root/.pyenv/versions/3.10.*/bin/python) $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python),(3, 10))
PY311 ?= $(call find_python,python3.11 $(wildcard /root/.pyenv/versions/3.11.*/bin/python) python3,(3, 11))

RASA_VENV := .venvs/rasa
APP_VENV := .venvs/app
AUDIT_VENV := .venvs/audit
RASA := $(RASA_VENV)/bin/rasa
APP_PY := $(APP_VENV)/bin/python
MODEL := models/linli.tar.gz
TRAINING_DATA := config.yml domain.yml $(shell find nlu_data -type f) $(wildcard nlu/*.py)
# Debian packages the targets need (installed by the rules further down). Defined before any rule
# names them: make reads a rule's prerequisites as it reaches the rule.
CHROMIUM := /usr/bin/chromium
ESPEAK := /usr/bin/espeak-ng
NGINX := /usr/sbin/nginx
FAKETIME := /usr/bin/faketime

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONPATH := $(CURDIR)

.PHONY: run test install train lint bench nlu-eval clean browser voice-model kiosk-headless scale-out audit

install: $(RASA_VENV)/.installed $(APP_VENV)/.installed

$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -n "$(PY310)" || { echo "Python 3.10 is needed for the Rasa engine: install it (e.g. pyenv install 3.10) or set PY310=/path/to/python3.10"; exit 1; }
	rm -rf $(RASA_VENV) && $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip wheel
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa.lock
	touch $@

$(APP_VENV)/.installed: requirements/app.lock
	rm -rf $(APP_VENV) && $(PY311) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install -q --upgrade pip
	$(APP_VENV)/bin/pip install -q -r requirements/app.lock
	touch $@

# Rasa itself also skips retraining when its fingerprint of the data is unchanged.
$(MODEL): $(TRAINING_DATA) | $(RASA_VENV)/.installed
	$(RASA) train --config config.yml --domain domain.yml --data nlu_data --out models --fixed-model-name linli
	touch $@

train: $(MODEL)

run: install $(MODEL) $(ESPEAK)
	$(APP_PY) -m bot.launcher

# The Chinese Vosk model (42 MB) from its official address, SHA-256 checked, into models/voice/;
# the kiosk finds it there (or wherever VOSK_MODEL_PATH points). Without it, the kiosk is touch-only.
voice-model: $(APP_VENV)/.installed
	$(APP_PY) -m voice.model_download

# The kiosk without a screen: microphone and speaker through PortAudio (Debian's libportaudio2).
kiosk-headless: install $(ESPEAK)
	@dpkg -s libportaudio2 >/dev/null 2>&1 || $(call apt_install,libportaudio2)
	$(APP_PY) -m voice $(ARGS)

# Several engines behind nginx, sharing PostgreSQL and Redis (bot/scale_out.py; README: a district).
scale-out: install $(MODEL) $(NGINX) $(ESPEAK)
	$(APP_PY) -m bot.scale_out $(ARGS)

# Debian packages: espeak-ng speaks for the kiosk (pyttsx3 drives it); the browser tests drive
# Debian's chromium (never a downloaded browser), which needs CJK fonts to render Chinese.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
apt_install = $(SUDO) apt-get install -y -q $(1) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(1); }
browser: $(CHROMIUM)
$(CHROMIUM):
	$(call apt_install,chromium fonts-noto-cjk)
$(ESPEAK):
	$(call apt_install,espeak-ng)
$(NGINX):
	$(call apt_install,nginx)
$(FAKETIME):
	$(call apt_install,faketime)

test: install $(MODEL) $(CHROMIUM) $(ESPEAK) $(NGINX) $(FAKETIME)
	$(MAKE) --no-print-directory lint
	$(RASA) data validate --config config.yml --domain domain.yml --data nlu_data
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/core
	$(RASA) test nlu --model $(MODEL) --nlu tests/nlu_test_set.yml --out results/nlu
	$(RASA_VENV)/bin/python -m pytest -q tests/actions tests/connectors tests/nlu_eval
	$(APP_PY) -m pytest tests/app tests/voice tests/integration tests/test_nlu_quality.py tests/test_nlu_eval_sets.py tests/test_knowledge_eval_sets.py
	@echo "The app's tests again with the wall clock 400 days ahead: nothing may depend on the day the suite runs."
	$(FAKETIME) -f '+400d' $(APP_PY) -m pytest -q -p no:cacheprovider tests/app tests/voice

lint: install
	$(APP_VENV)/bin/ruff check bot actions connectors voice nlu tests bench
	$(APP_VENV)/bin/ruff format --check bot actions connectors voice nlu tests bench
	$(APP_VENV)/bin/mypy bot voice

nlu-eval: install $(MODEL)
	$(RASA) test nlu --model $(MODEL) --nlu tests/nlu_test_set.yml --out results/nlu

bench: install $(MODEL)
	$(APP_PY) bench/run_all.py

# Known advisories of both locks, by pip-audit in a small venv of its own (requirements/audit.lock), so
# neither the engine's nor the app's environment changes. Not part of `make test`: it needs an advisory
# service on the network (AUDIT_SERVICE=pypi or osv). It fails, with one line saying nothing was
# checked, when the service does not answer; and on an advisory that requirements/audit-accepted.txt
# does not accept, or a pin it could not check (requirements/audit.py: exit 2, resp. 1).
AUDIT_SERVICE ?= pypi
$(AUDIT_VENV)/.installed: requirements/audit.lock
	rm -rf $(AUDIT_VENV) && $(PY311) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install -q --upgrade pip
	$(AUDIT_VENV)/bin/pip install -q -r requirements/audit.lock
	touch $@

audit: $(AUDIT_VENV)/.installed
	AUDIT_SERVICE=$(AUDIT_SERVICE) $(AUDIT_VENV)/bin/python requirements/audit.py requirements/rasa.lock requirements/app.lock

clean:
	rm -rf .venvs models results .run
