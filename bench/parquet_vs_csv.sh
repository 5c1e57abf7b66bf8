#!/usr/bin/env bash
# parquet_sink beside csv_sink (#32) on the harness's sample data: the three rasters merged
# onto the 0.02 deg output-heavy grid (as bench/run.py), each sink alone in its own run, under
# --memory-limit 256MiB. Each Parquet file is checked before its time counts: its row count
# against the CSV's lines with DuckDB, and the default's (below 5 M rows: reading it all in
# Node.js takes minutes) every value against the CSV with tests/parquet/check_parquet.mjs.
#   bench/parquet_vs_csv.sh [small|medium|large] [repeats] [threads] [all|default]
# (`default`: the CSV and Parquet's default only, for large.)
# Needs the test readers (ctest -R Parquet.InstallReaders, or tests/parquet/install_readers.sh
# build/tests/parquet_readers). Prints one Markdown row per output: wall seconds (median),
# CPU seconds, peak RSS, bytes written, and both against the plain CSV.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-medium}"
repeats="${2:-3}"
threads="${3:-0}"
variants="${4:-all}"
readers="${RASTERFLOW_PARQUET_READERS:-$here/build/tests/parquet_readers}"
thread_args=()
[ "$threads" != 0 ] && thread_args=(--threads "$threads")
echo "| output | wall s (median of $repeats) | CPU s | peak RSS MiB | bytes written | time of CSV | bytes of CSV |"
echo "|---|---|---|---|---|---|---|"
csv_wall=0; csv_bytes=0; csv_rows=0
for spec in "csv_sink:table.csv:csv_sink:" "parquet_sink zstd 3 (default):table.parquet:parquet_sink:" \
  "parquet_sink zstd 1:table.parquet:parquet_sink:, \"compression_level\": 1" \
  "parquet_sink snappy:table.parquet:parquet_sink:, \"compression\": \"snappy\"" \
  "parquet_sink none:table.parquet:parquet_sink:, \"compression\": \"none\""; do
  IFS=: read -r label file type options <<< "$spec"
  [ "$variants" = default ] && [ "$label" != csv_sink ] && [ "$label" != "parquet_sink zstd 3 (default)" ] && continue
  cat > "$work/parquet_vs_csv.json" <<JSON
{ "grid": { "crs": "EPSG:4326", "resolution": 0.02 },
  "nodes": [
    { "id": "temperature_src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "elevation_src", "type": "raster_source", "path": "data/elevation.tif" },
    { "id": "landcover_src", "type": "raster_source", "path": "data/landcover.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["temperature_src"], "method": "average" },
    { "id": "elevation", "type": "resample", "inputs": ["elevation_src"], "method": "average" },
    { "id": "landcover", "type": "resample", "inputs": ["landcover_src"], "method": "nearest" },
    { "id": "merged", "type": "merge", "inputs": ["temperature", "elevation", "landcover"] },
    { "id": "table", "type": "$type", "inputs": ["merged"], "path": "$file"$options } ] }
JSON
  run=("$cli" run "$work/parquet_vs_csv.json" --output-dir "$work" --log-level warn --memory-limit 256MiB
       --set metrics.backend=none "${thread_args[@]}")
  "${run[@]}" > /dev/null  # warm-up
  walls=(); cpus=(); rss=0
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "${run[@]}" > /dev/null
    read -r wall user sys kib < "$work/time.txt"
    walls+=("$wall"); cpus+=("$(echo "$user + $sys" | bc)"); rss=$(( kib > rss ? kib : rss ))
  done
  out="$work/$file"
  bytes=$(stat -c %s "$out")
  wall=$(printf '%s\n' "${walls[@]}" | median)
  if [ "$type" = csv_sink ]; then
    csv_wall=$wall; csv_bytes=$bytes; csv_rows=$(( $(wc -l < "$out") - 1 ))
  else
    rows=$(node -e "
      const { DuckDBInstance } = require('$readers/node_modules/@duckdb/node-api');
      (async () => { const c = await (await DuckDBInstance.create(':memory:')).connect();
        console.log(String((await c.runAndReadAll(\"SELECT count(*) FROM '$out'\")).getRowsJS()[0][0])); })();")
    [ "$rows" = "$csv_rows" ] || { echo "$label: $rows rows, the CSV has $csv_rows" >&2; exit 1; }
    if [ "$csv_rows" -lt 5000000 ] && [ "$label" = "parquet_sink zstd 3 (default)" ]; then
      echo '{"types": {"x": ["DOUBLE","Float64"], "y": ["DOUBLE","Float64"], "temperature": ["FLOAT","Float32"],
             "elevation": ["DOUBLE","Float64"], "landcover": ["UTINYINT","Uint8"]}}' > "$work/spec.json"
      node --max-old-space-size=8192 "$here/tests/parquet/check_parquet.mjs" "$readers" "$out" "$work/table.csv" \
        "$work/spec.json" > /dev/null
    fi
  fi
  printf '| %s | %s | %s | %d | %d | %s | %s |\n' "$label" "$wall" "$(printf '%s\n' "${cpus[@]}" | median)" \
    $((rss / 1024)) "$bytes" "$(echo "scale=2; $wall / $csv_wall" | bc)" "$(echo "scale=3; $bytes / $csv_bytes" | bc)"
done
