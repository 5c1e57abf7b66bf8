#!/usr/bin/env bash
# Peak RSS (getrusage of the child, via /usr/bin/time) of streaming versus in-memory export, and
# of streaming under --memory-limit, on the three sample rasters merged onto one grid.
#   bench/memory_modes.sh SIZE RESOLUTION [LIMIT...]
#   e.g. bench/memory_modes.sh medium 0.01      bench/memory_modes.sh large 0.02 256MiB 128MiB
# Prints a Markdown table and checks that every run wrote the same bytes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-medium}"
res="${2:-0.01}"
limits=("${@:3}")
[ ${#limits[@]} -gt 0 ] || limits=(256MiB)
limit="${limits[0]}"
sed "s/\"resolution\": 0.05/\"resolution\": $res/; s#../sample_data/#data/#" "$here/graphs/demo.json" > "$work/modes.json"
"$cli" plan "$work/modes.json" --set merge.enable_streaming=false --set memory.limit=1T | grep -E "^grid|^export" | sed 's/^/    /'
echo
echo "| mode | wall s | peak RSS MiB | rows | same bytes |"
echo "|---|---|---|---|---|"
run() {  # label, extra args...
  local label="$1"; shift
  if ! /usr/bin/time -f "%e %M" -o "$work/time.txt" "$cli" run "$work/modes.json" --output-dir "$work/out" --log-level error "$@" \
      > /dev/null 2> "$work/stderr.txt"; then
    printf '| %s | refused (exit %s) | | | `%s` |\n' "$label" "$(grep -o 'status [0-9]*' "$work/time.txt" | grep -o '[0-9]*$')" \
      "$(head -c 160 "$work/stderr.txt" | tr -d '\n')…"
    return
  fi
  read -r wall kib < <(tail -1 "$work/time.txt")
  local rows same="reference"
  rows=$(($(wc -l < "$work/out/merged.csv") - 1))
  if [ -f "$work/reference.csv" ]; then
    cmp -s "$work/reference.csv" "$work/out/merged.csv" && same=yes || same=NO
  else
    mv "$work/out/merged.csv" "$work/reference.csv"
  fi
  printf '| %s | %s | %d | %d | %s |\n' "$label" "$wall" $((kib / 1024)) "$rows" "$same"
}
rm -f "$work/reference.csv"
run "streaming" --streaming
for l in "${limits[@]}"; do run "streaming --memory-limit $l" --streaming --memory-limit "$l"; done
run "in-memory" --in-memory
run "in-memory --memory-limit $limit" --in-memory --memory-limit "$limit"
rm -f "$work/reference.csv" "$work/out/merged.csv"
