#!/usr/bin/env bash
# Installs what is missing, builds, generates the sample data and runs the demo graph.
#   scripts/demo.sh [small|medium|large]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size="${1:-small}"
bash "$here/scripts/bootstrap.sh" --demo
cli="${RASTERFLOW_BUILD_DIR:-$here/build}/rasterflow"
"$cli" sample-data "$here/sample_data" --size "$size"
"$cli" run "$here/graphs/demo.json" --config "$here/config.yml" --output-dir "$here/out"
echo "The merged table is $here/out/merged.csv ($(wc -l < "$here/out/merged.csv") lines)"
