# Imgen Desktop developer commands. `make run` opens the app, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
# The torch build to install. Here: the local CPU build. Override for CUDA, e.g.
#   make venv TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"
TORCH_SPEC ?= torch==2.13.0
# torchvision (spandrel needs it) must be the release made for that torch (0.28.x for 2.13),
# installed with --no-deps so pip never swaps the torch build. PyPI's Linux wheel is a CUDA
# build; beside a CPU torch it cannot load its ops and core/community.py's stand-in is used.
# With a CUDA TORCH_SPEC, put the matching torchvision there and set TORCHVISION_SPEC= (empty).
TORCHVISION_SPEC ?= torchvision==0.28.0
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: venv run test bench bundle bundle-test lint clean fuzz

$(BIN)/imgen-desktop: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(if $(TORCHVISION_SPEC),$(BIN)/python -m pip install --quiet --no-deps $(TORCHVISION_SPEC))
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

venv: $(BIN)/imgen-desktop

run: venv
	$(BIN)/imgen-desktop

test: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q --durations=15 $(PYTEST_ARGS)

# Longer property-based fuzzing of the image loader (hypothesis profile "fuzz": 5,000 examples per property).
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=3600 tests/reliability/test_fuzz.py

# The benchmarks' classical references (bm3d, scikit-image, OpenCV) are the `bench` extra: never
# run-time dependencies. The standard-set benchmark runs here in --quick mode; the full table:
#   $(BIN)/python benchmarks/standard_sets.py [--only upscale|denoise|inpaint]
bench: venv
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)  # BENCH_ARGS=--quick: the quick benchmarks only

bundle: venv
	$(BIN)/python -m pip install --quiet "pyinstaller>=6.0"
	$(BIN)/python packaging/build.py

bundle-test: bundle
	packaging/self_test.sh

clean:
	rm -rf build dist .pytest_cache
