#!/usr/bin/env bash
# Installs what rasterflow needs on Debian 12, idempotently, then configures and builds.
#   scripts/bootstrap.sh            install packages + build (Release) into build/
#   scripts/bootstrap.sh --deps     install packages only
#   scripts/bootstrap.sh --bench    also the benchmark harness's packages, then build
#   scripts/bootstrap.sh --demo     only what the rasterflow command needs, then build it alone
#                                   (no tests, Python module, MPI, PostgreSQL server or sanitizers)
# Runs apt-get as root, or through sudo otherwise. Safe to run again: it only installs what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${RASTERFLOW_BUILD_DIR:-$here/build}"

packages=(
  build-essential cmake ninja-build pkg-config
  libtbb-dev libtbbbind-2-5 libhwloc-dev hwloc
  libgdal32 gdal-bin gdal-data python3-gdal python3-numpy
  libboost-json1.81-dev libpqxx-dev libsqlite3-dev sqlite3
  libspdlog-dev libyaml-cpp-dev libcli11-dev doctest-dev libisal-dev zlib1g-dev libtiff-dev
  postgresql-15 postgresql-client-15
  libopenmpi-dev openmpi-bin
  clang clang-format libclang-rt-14-dev
  chromium
)
packages+=(libssl-dev)  # SHA-256 for checkpoint identities: OpenSSL libcrypto (#21)
packages+=(pybind11-dev python3-pybind11 python3-dev python3-pandas python3-xarray)  # Python bindings: pybind11, to_pandas, to_xarray (#23)
packages+=(libzstd-dev zstd)  # csv_sink writes .zst (libzstd); tests read it back with zstdcat (#22)
packages+=(libsnappy-dev)  # parquet_sink's SNAPPY compression (#32)
# Node.js and npm: the tests read parquet_sink's files with pinned npm readers (DuckDB, parquet-wasm;
# tests/parquet/install_readers.sh, #32). npm only when missing: NodeSource's nodejs bundles it.
packages+=(nodejs)
command -v npm > /dev/null || packages+=(npm)
packages+=(python3-h5py)  # HDF5 test inputs for raster_source variables (#20)
packages+=(postgresql-15-postgis-3)  # PostGIS for postgres_sink's geometry column and its tests (#22)
# Python as Python users expect it: rioxarray's dependencies (rioxarray itself is unpacked into
# .deps/ below), NetCDF for to_netcdf, tqdm progress bars, mypy on the stubs, venv/pip/wheel for
# the install test (#31)
packages+=(python3-rasterio python3-pyproj python3-netcdf4 python3-tqdm python3-mypy python3-venv python3-pip
  python3-setuptools python3-wheel)
packages+=(python3-netcdf4 python3-zarr)  # CF inputs written by the tests, Zarr outputs read back by xarray (#30)
# docs/python.md's walkthrough run by its test (#31): matplotlib for its plot cell, and the runtime
# dependencies of scikit-learn and SciPy, which are unpacked into .deps/python below
packages+=(python3-matplotlib python3-joblib python3-threadpoolctl liblbfgsb0)
packages+=(python3-eccodes libeccodes-tools)  # GRIB1 and GRIB2 test inputs written by ECMWF's ecCodes, not GDAL (#30)
packages+=(slurm-wlm munge)  # a real one-node SLURM for the batch recipes' test, Slurm.Recipes (#33)

mode="${1:-}"
if [ "$mode" = "--demo" ]; then
  # The rasterflow command alone: its compiler and build tools, the libraries it links (libpqxx
  # links the PostgreSQL client library, not the server) and GDAL's runtime data.
  packages=(
    build-essential cmake ninja-build pkg-config
    libtbb-dev libtbbbind-2-5 libhwloc-dev
    libgdal32 gdal-data
    libboost-json1.81-dev libpqxx-dev libsqlite3-dev
    libspdlog-dev libyaml-cpp-dev libcli11-dev libisal-dev zlib1g-dev libtiff-dev
    libssl-dev libzstd-dev libsnappy-dev
  )
  shift
fi

if [ "$mode" = "--bench" ]; then
  # The benchmark harness's comparisons and plot.
  packages+=(python3-rasterio python3-xarray python3-pandas gnuplot-nox linux-perf)
  shift
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# GDAL's headers. Debian 12's libgdal-dev depends on libkml-dev -> libboost1.74-dev, which
# conflicts with libboost1.81-dev (the only Boost with Boost.JSON). We therefore take just the
# headers of the libgdal-dev package that matches the installed libgdal32 and unpack them into
# .deps/ (never into the system), unless the system already has them.
gdal_deps="$here/.deps/gdal"
if [ ! -f /usr/include/gdal/gdal.h ] && [ ! -f "$gdal_deps/usr/include/gdal/gdal.h" ]; then
  version="$(dpkg-query -W -f='${Version}' libgdal32)"
  tmp="$(mktemp -d)"; chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -qq "libgdal-dev=$version" 2>/dev/null || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt-get download -qq "libgdal-dev=$version"; })
  mkdir -p "$gdal_deps"
  dpkg-deb -x "$tmp"/libgdal-dev_*.deb "$gdal_deps"
  rm -rf "$tmp"
  echo "bootstrap: GDAL headers unpacked into $gdal_deps"
fi

# rioxarray (the Python tests compare rasterflow.to_xarray with it, #31). Debian 12's
# python3-rioxarray depends on python3-scipy -> python3-pythran -> libboost-dev (1.74), which
# conflicts with libboost1.81-dev as above. rioxarray imports no scipy (only its interpolate_na
# does), so its pure-Python package is unpacked into .deps/python (never into the system); the
# tests put .deps/python/usr/lib/python3/dist-packages on PYTHONPATH.
rio_deps="$here/.deps/python"
if [ "$mode" != "--demo" ] && ! /usr/bin/python3 -c "import rioxarray" 2>/dev/null &&
  [ ! -f "$rio_deps/usr/lib/python3/dist-packages/rioxarray/__init__.py" ]; then
  tmp="$(mktemp -d)"; chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -qq python3-rioxarray 2>/dev/null || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt-get download -qq python3-rioxarray; })
  mkdir -p "$rio_deps"
  dpkg-deb -x "$tmp"/python3-rioxarray_*.deb "$rio_deps"
  rm -rf "$tmp"
  echo "bootstrap: rioxarray unpacked into $rio_deps"
fi

# scikit-learn for the walkthrough's partial_fit cell (#31). Debian 12's python3-sklearn depends
# on python3-scipy -> python3-pythran -> libboost-dev (the 1.74 headers), which conflicts with
# libboost1.81-dev even with --no-install-recommends; SciPy and scikit-learn need no Boost to
# run, so Debian's python3-sklearn, python3-sklearn-lib and python3-scipy are unpacked into
# .deps/python (never into the system), their other dependencies installed above.
if [ "$mode" != "--demo" ] && ! /usr/bin/python3 -c "import sklearn" 2>/dev/null &&
  [ ! -f "$rio_deps/usr/lib/python3/dist-packages/sklearn/__init__.py" ]; then
  tmp="$(mktemp -d)"; chmod 777 "$tmp"
  sk_debs=(python3-sklearn python3-sklearn-lib python3-scipy)
  (cd "$tmp" && apt-get download -qq "${sk_debs[@]}" 2>/dev/null || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt-get download -qq "${sk_debs[@]}"; })
  mkdir -p "$rio_deps"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$rio_deps"; done
  rm -rf "$tmp"
  echo "bootstrap: scikit-learn and SciPy unpacked into $rio_deps"
fi

[ "${1:-}" = "--deps" ] && exit 0

jobs="${RASTERFLOW_JOBS:-2}"
if [ "$mode" = "--demo" ]; then
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${RASTERFLOW_BUILD_TYPE:-Release}" \
    -DRASTERFLOW_BUILD_TESTS=OFF -DRASTERFLOW_BUILD_BENCH=OFF -DRASTERFLOW_PYTHON=OFF -DRASTERFLOW_MPI=OFF >/dev/null
  cmake --build "$build_dir" -j "$jobs" --target rasterflow
else
  # Everything on, also in a build folder that the demo configured.
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${RASTERFLOW_BUILD_TYPE:-Release}" \
    -DRASTERFLOW_BUILD_TESTS=ON -DRASTERFLOW_BUILD_BENCH=ON -DRASTERFLOW_PYTHON=ON -DRASTERFLOW_MPI=ON >/dev/null
  cmake --build "$build_dir" -j "$jobs"
fi
