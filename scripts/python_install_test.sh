#!/usr/bin/env bash
# The Python package installed as a Python user installs it (#31, CTest Python.InstallIntoVenvs):
#   1. `pip install --no-build-isolation .` into a virtual environment,
#   2. `pip wheel .`, and that wheel installed into a second virtual environment,
# each then running Python tests from outside the source tree, importing rasterflow from the
# environment (its engine libraries from the wheel, not the build tree).
#   scripts/python_install_test.sh SOURCE_DIR BUILD_DIR
# The build folder is reused (RASTERFLOW_CMAKE_BUILD_DIR): pip builds only what is out of date.
# Both environments see Debian's NumPy, pandas and xarray (--system-site-packages); nothing is
# downloaded (--no-index).
set -euo pipefail
src="$(cd "$1" && pwd)"
bin="$(cd "$2" && pwd)"
python="${RASTERFLOW_PYTHON:-/usr/bin/python3}"
tmp="$(mktemp -d -t rasterflow-venvs-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
export RASTERFLOW_CMAKE_BUILD_DIR="$bin"
pip_flags=(--no-build-isolation --no-index --no-deps --disable-pip-version-check -q)

"$python" -m venv --system-site-packages "$tmp/venv-install"
"$tmp/venv-install/bin/pip" install "${pip_flags[@]}" "$src"

"$python" -m venv --system-site-packages "$tmp/venv-wheel"
"$tmp/venv-install/bin/pip" wheel "${pip_flags[@]}" -w "$tmp/dist" "$src"
wheel="$(ls "$tmp"/dist/rasterflow-*.whl)"
"$tmp/venv-wheel/bin/pip" install --no-index --no-deps --disable-pip-version-check -q "$wheel"

# The tests' own folder and rioxarray (unpacked by bootstrap) on the path; the package only
# from the environment.
export PYTHONPATH="$src/tests/python:$src/.deps/python/usr/lib/python3/dist-packages"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$tmp/run"
cd "$tmp/run"
for venv in venv-install venv-wheel; do
  echo "== $venv"
  "$tmp/$venv/bin/python" - "$tmp/$venv" "$bin" <<'PY'
import importlib.metadata, os, sys
import rasterflow
venv, build = sys.argv[1], sys.argv[2]
package = os.path.dirname(rasterflow.__file__)
assert package.startswith(venv + os.sep), f"rasterflow imported from {package}, not from {venv}"
assert importlib.metadata.version("rasterflow") == rasterflow.__version__, importlib.metadata.version("rasterflow")
requires = importlib.metadata.requires("rasterflow")
assert any(r.startswith("numpy") for r in requires), requires
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "librasterflow" in l})
assert libs and all(l.startswith(package + os.sep) for l in libs), f"engine libraries loaded from {libs}"
print(f"rasterflow {rasterflow.__version__} from {package}; engine: {', '.join(map(os.path.basename, libs))}")
PY
  "$tmp/$venv/bin/python" -m unittest test_xarray test_python.Python.test_ChunksConcatenatedEqualCsv \
    test_python.Python.test_ToPandasAndToXarrayMatchCsv test_python.Python.test_ErrorsMapToExceptionsWithCliMessages
done
