# Shared set-up of the bench/*.sh scripts: paths, the sample data of one size, a median.
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh" SIZE
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size="${1:-medium}"
cli="${RASTERFLOW_CLI:-$here/build/rasterflow}"
work="${RASTERFLOW_BENCH_DIR:-$here/build/bench}/$size"
mkdir -p "$work"
[ -f "$work/data/landcover.tif" ] || "$cli" sample-data "$work/data" --size "$size" > /dev/null
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
