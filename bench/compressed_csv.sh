#!/usr/bin/env bash
# Plain CSV against gzip and zstd output (csv_sink's .gz/.zst, #22) on the sample data: the
# harness's three rasters merged onto a 0.02 deg grid (as bench/run.py), every run's
# decompressed text checked with cmp against the plain CSV before its time counts.
#   bench/compressed_csv.sh [small|medium|large] [repeats] [threads]
# Prints one Markdown row per output: wall seconds (median), CPU seconds, peak RSS, bytes written.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-medium}"
repeats="${2:-3}"
threads="${3:-0}"
thread_args=()
[ "$threads" != 0 ] && thread_args=(--threads "$threads")
echo "| output | wall s (median of $repeats) | CPU s | peak RSS MiB | bytes written | of plain |"
echo "|---|---|---|---|---|---|"
plain_bytes=0
# gzip 1-3 are ISA-L's igzip (3 the default), 4-9 zlib's (6 was the default before igzip).
for spec in "plain:csv:" "gzip 3 (igzip, default):csv.gz:" "gzip 1 (igzip):csv.gz:1" "gzip 6 (zlib):csv.gz:6" \
  "gzip 9 (zlib):csv.gz:9" "zstd 3 (default):csv.zst:" "zstd 1:csv.zst:1" "zstd 9:csv.zst:9"; do
  IFS=: read -r label ext level <<< "$spec"
  level_option=""
  [ -n "$level" ] && level_option=", \"compression_level\": $level"
  cat > "$work/compressed.json" <<JSON
{ "grid": { "crs": "EPSG:4326", "resolution": 0.02 },
  "nodes": [
    { "id": "temperature_src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "elevation_src", "type": "raster_source", "path": "data/elevation.tif" },
    { "id": "landcover_src", "type": "raster_source", "path": "data/landcover.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["temperature_src"], "method": "average" },
    { "id": "elevation", "type": "resample", "inputs": ["elevation_src"], "method": "average" },
    { "id": "landcover", "type": "resample", "inputs": ["landcover_src"], "method": "nearest" },
    { "id": "merged", "type": "merge", "inputs": ["temperature", "elevation", "landcover"] },
    { "id": "table", "type": "csv_sink", "inputs": ["merged"], "path": "compressed.$ext"$level_option } ] }
JSON
  walls=(); cpus=(); rss=0
  "$cli" run "$work/compressed.json" --output-dir "$work" --log-level warn "${thread_args[@]}" > /dev/null  # warm-up
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$cli" run "$work/compressed.json" --output-dir "$work" \
      --log-level warn "${thread_args[@]}" > /dev/null
    read -r wall user sys kib < "$work/time.txt"
    walls+=("$wall"); cpus+=("$(echo "$user + $sys" | bc)"); rss=$(( kib > rss ? kib : rss ))
  done
  out="$work/compressed.$ext"
  bytes=$(stat -c %s "$out")
  case "$ext" in
    csv) cp "$out" "$work/compressed_plain.csv"; plain_bytes=$bytes ;;
    csv.gz) zcat "$out" | cmp - "$work/compressed_plain.csv" ;;
    csv.zst) zstdcat "$out" | cmp - "$work/compressed_plain.csv" ;;
  esac
  printf '| %s | %s | %s | %d | %d | %s |\n' "$label" "$(printf '%s\n' "${walls[@]}" | median)" \
    "$(printf '%s\n' "${cpus[@]}" | median)" $((rss / 1024)) "$bytes" "$(echo "scale=3; $bytes / $plain_bytes" | bc)"
done
