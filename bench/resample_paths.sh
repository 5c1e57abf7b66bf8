#!/usr/bin/env bash
# Fast path versus GDAL's warper on the sample data: the temperature raster (0.01 deg) averaged
# onto a 0.05 deg grid (5 x 5 source pixels per cell), every method of both paths.
#   bench/resample_paths.sh [small|medium|large] [repeats]
# Prints one Markdown row per run: path, method, wall seconds (median), peak RSS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-medium}"
repeats="${2:-3}"
echo "| path | method | wall s (median of $repeats) | peak RSS MiB | rows |"
echo "|---|---|---|---|---|"
for method in average nearest mode; do
  for impl in fast warper; do
    cat > "$work/paths.json" <<JSON
{ "grid": { "resolution": 0.05 },
  "nodes": [
    { "id": "src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["src"], "method": "$method", "implementation": "$impl" },
    { "id": "m", "type": "merge", "inputs": ["temperature"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "paths.csv" } ] }
JSON
    walls=(); rss=0
    for _ in $(seq "$repeats"); do
      /usr/bin/time -f "%e %M" -o "$work/time.txt" "$cli" run "$work/paths.json" --output-dir "$work" --log-level warn > /dev/null
      read -r wall kib < "$work/time.txt"
      walls+=("$wall"); rss=$(( kib > rss ? kib : rss ))
    done
    rows=$(($(wc -l < "$work/paths.csv") - 1))
    printf '| %s | %s | %s | %d | %d |\n' "$impl" "$method" "$(printf '%s\n' "${walls[@]}" | median)" $((rss / 1024)) "$rows"
  done
done
