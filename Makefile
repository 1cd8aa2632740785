# dlcourse: one Makefile for readers, authors and CI. Every target creates .venv if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CI / local install pins PyTorch (these wheels are on the build machines' disk); the package
# itself only asks for torch>=2.3, so Colab and conda keep their own build.
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed
CHAPTER ?=
PROFILE ?= quick
# The library has moved on from some pages' outputs (they are re-executed with their chapter's
# rewrite): `make check` names each stale page and the changed definitions, as a note. Run
# `make check CHECK_FLAGS=` to make a stale page fail.
CHECK_FLAGS ?= --allow-library-drift

.PHONY: install system-deps book test unit check execute sync student student-html clean colab

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make book: build the HTML book from the committed notebooks (warnings are errors).
book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --quiet && \
	echo "Book built in $$(( $$(date +%s) - start )) s: open $(CURDIR)/_build/html/index.html"

## make system-deps: the Debian packages `make test` needs, installed when root or sudo allows:
## offline Fashion-MNIST (chapters 3-4, data tests), Node.js (checks the book's JavaScript
## explorers against dlcourse), Chromium (screenshots of the built pages).
system-deps:
	@need=""; \
	[ -d /usr/share/datasets/fashion-mnist ] || need="$$need dataset-fashion-mnist"; \
	command -v node >/dev/null || need="$$need nodejs"; \
	command -v chromium >/dev/null || need="$$need chromium"; \
	[ -z "$$need" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "make test needs these Debian packages:$$need"; \
	     echo "install them (sudo apt-get install$$need) or run make as root, then run make test again"; exit 1; fi; \
	command -v apt-get >/dev/null || { echo "make test needs:$$need (no apt-get here: install them with your package manager)"; exit 1; }; \
	echo "installing Debian packages:$$need"; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$need >/dev/null

## make test: unit tests, every notebook under the smoke profile, pair sync/staleness, the book.
test: system-deps $(STAMP)
	$(BIN)/python -m pytest tests -q
	DLCOURSE_PROFILE=smoke TQDM_DISABLE=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest --nbval-lax -q -p no:cacheprovider chapters/*.ipynb
	$(MAKE) check
	$(BIN)/python -m tools.colab check
	$(MAKE) book
	$(BIN)/python -m tools.colab_e2e
	$(BIN)/python -m tools.check_pages --screenshots _build/screenshots

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

## make check: the chapter pairs are in sync, their outputs are the executed ones (hashed), and
## the dlcourse code that ran for them (recorded at execution) is the code here.
check: $(STAMP)
	$(BIN)/python -m tools.notebooks check $(CHECK_FLAGS)

## make execute CHAPTER=01_mutual_information PROFILE=quick|full: refresh a chapter's outputs.
execute: $(STAMP)
	@test -n "$(CHAPTER)" || { echo "usage: make execute CHAPTER=01_mutual_information PROFILE=quick"; exit 2; }
	$(BIN)/python -m tools.notebooks execute chapters/$(CHAPTER).md --profile $(PROFILE)

## make sync CHAPTER=03_imbalanced_losses: carry a prose-only edit into the executed notebook
## (refused when a code cell changed: outputs depend on code, so that needs make execute).
sync: $(STAMP)
	@test -n "$(CHAPTER)" || { echo "usage: make sync CHAPTER=03_imbalanced_losses"; exit 2; }
	$(BIN)/python -m tools.notebooks sync chapters/$(CHAPTER).md

## make colab: regenerate colab/NN_slug.ipynb (the notebooks the launch button opens) from the chapters.
colab: $(STAMP)
	$(BIN)/python -m tools.colab build

## make student: the notebooks without solutions, for a class, in _build/student/.
student: $(STAMP)
	$(BIN)/python -m tools.student _build/student

## make student-html: the HTML book without solutions, for a class, in _build/student-html/.
student-html: $(STAMP)
	$(BIN)/python -m tools.student --html _build/student-html

clean:
	rm -rf _build
