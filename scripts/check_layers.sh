#!/usr/bin/env bash
# The layers, checked: engine/ (rasterflow::core) includes no GDAL, OGR, CPL or PROJ header, and,
# given a build folder, its library links no GDAL (ldd).
#   scripts/check_layers.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status=0
if grep -rnE '^\s*#\s*include\s*[<"](gdal|ogr|cpl_|proj)[^>"]*[>"]' "$here/engine"; then
  echo "check_layers: engine/ must not include GDAL, OGR, CPL or PROJ headers (lines above); such code belongs in nodes/"
  status=1
fi
if [ $# -gt 0 ]; then
  core="$(ls "$1"/librasterflow-core.so.* 2>/dev/null | head -1 || true)"
  if [ -z "$core" ]; then
    echo "check_layers: no librasterflow-core.so in $1"
    status=1
  elif ldd "$core" | grep -iE 'libgdal|libproj'; then
    echo "check_layers: $core links GDAL or PROJ (lines above)"
    status=1
  else
    echo "check_layers: $(basename "$core") links no GDAL or PROJ"
  fi
fi
[ $status -eq 0 ] && echo "check_layers: engine/ includes no GDAL, OGR, CPL or PROJ header"
exit $status
