#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with CTest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh"
cd "${RASTERFLOW_BUILD_DIR:-$here/build}"
ctest --output-on-failure -j "${RASTERFLOW_JOBS:-2}"
