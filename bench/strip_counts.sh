#!/usr/bin/env bash
# One-row strips (#29): 128-column Byte GeoTIFFs of 25k, 50k and 100k strips of one row each,
# averaged onto a 0.032 deg grid (32 x 32 pixels a cell: the whole file is one tile), against
# gdalwarp -ovr NONE -et 0 on the same grid. The time must grow linearly with the strips.
#   bench/strip_counts.sh [repeats]
# Prints one Markdown row per file: strips, rasterflow and gdalwarp wall seconds (median), peak RSS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="${RASTERFLOW_CLI:-$here/build/rasterflow}"
work="${RASTERFLOW_BENCH_DIR:-$here/build/bench}/strips"
repeats="${1:-5}"
mkdir -p "$work"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| one-row strips | rasterflow wall s (median of $repeats) | peak RSS MiB | gdalwarp wall s | peak RSS MiB |"
echo "|---|---|---|---|---|"
for n in 25000 50000 100000; do
  [ -f "$work/strips$n.tif" ] || "${PYTHON:-/usr/bin/python3}" - "$work/strips$n.tif" "$n" <<'PY'
import sys
import numpy as np
from osgeo import gdal, osr
path, n = sys.argv[1], int(sys.argv[2])
srs = osr.SpatialReference(); srs.ImportFromEPSG(4326)
d = gdal.GetDriverByName("GTiff").Create(path, 128, n, 1, gdal.GDT_Byte, ["BLOCKYSIZE=1"])
d.SetGeoTransform([0, 0.001, 0, n * 0.001, 0, -0.001]); d.SetProjection(srs.ExportToWkt())
d.GetRasterBand(1).WriteArray((np.arange(128 * n) % 251).astype(np.uint8).reshape(n, 128))
PY
  cat > "$work/strips$n.json" <<JSON
{ "grid": { "resolution": 0.032 },
  "nodes": [
    { "id": "s", "type": "raster_source", "path": "strips$n.tif" },
    { "id": "v", "type": "resample", "inputs": ["s"], "method": "average" },
    { "id": "m", "type": "merge", "inputs": ["v"] },
    { "id": "o", "type": "csv_sink", "inputs": ["m"], "path": "strips$n.csv" } ] }
JSON
  ours=(); theirs=(); rss=0; grss=0
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$cli" run "$work/strips$n.json" --output-dir "$work" --log-level warn > /dev/null
    read -r wall kib < "$work/time.txt"; ours+=("$wall"); rss=$(( kib > rss ? kib : rss ))
    /usr/bin/time -f "%e %M" -o "$work/time.txt" gdalwarp -q -overwrite -ovr NONE -et 0 -r average -tr 0.032 0.032 \
      "$work/strips$n.tif" "$work/strips$n.warped.tif"
    read -r wall kib < "$work/time.txt"; theirs+=("$wall"); grss=$(( kib > grss ? kib : grss ))
  done
  printf '| %d | %s | %d | %s | %d |\n' "$n" "$(printf '%s\n' "${ours[@]}" | median)" $((rss / 1024)) \
    "$(printf '%s\n' "${theirs[@]}" | median)" $((grss / 1024))
done
