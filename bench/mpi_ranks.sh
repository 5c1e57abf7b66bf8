#!/usr/bin/env bash
# One process versus 1, 2 and 4 MPI ranks (mpirun --oversubscribe) on the sample data merged
# onto the harness's 0.02 deg grid; every run's CSV is compared byte for byte with the single
# process's.
#   bench/mpi_ranks.sh [small|medium|large] [repeats]
# Prints a Markdown table: ranks, wall seconds (median), summed CPU, peak RSS of the largest rank.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "${1:-large}"
repeats="${2:-2}"
mpirun_cmd=(mpirun --oversubscribe --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
/usr/bin/python3 -c "
import json, sys
sys.path.insert(0, '$here/bench')
import run
json.dump(run.graph_json('$work/data', 'mpi.csv'), open('$work/mpi.json', 'w'))"
"$cli" plan "$work/mpi.json" --ranks 4 | sed 's/^/    /'
echo
echo "| run | wall s (median of $repeats) | CPU s (all ranks) | peak RSS MiB (largest rank) | same bytes |"
echo "|---|---|---|---|---|"
measure() {  # label, command...
  local label="$1"; shift
  local walls=() cpu=0 rss=0
  for _ in $(seq "$repeats"); do
    rm -f "$work"/mpi.csv*
    # %e wall, %U+%S CPU and %M max RSS of mpirun's children: GNU time reports the largest child.
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$@" run "$work/mpi.json" --output-dir "$work" --log-level error \
      --set metrics.backend=none > /dev/null
    read -r wall user sys kib < <(tail -1 "$work/time.txt")
    walls+=("$wall"); cpu=$(awk "BEGIN {print $user + $sys}"); rss=$(( kib > rss ? kib : rss ))
  done
  local same="reference"
  if [ -f "$work/mpi.reference.csv" ]; then cmp -s "$work/mpi.csv" "$work/mpi.reference.csv" && same=yes || same=NO; fi
  [ -f "$work/mpi.reference.csv" ] || cp "$work/mpi.csv" "$work/mpi.reference.csv"
  printf '| %s | %s | %s | %d | %s |\n' "$label" "$(printf '%s\n' "${walls[@]}" | median)" "$cpu" $((rss / 1024)) "$same"
}
rm -f "$work/mpi.reference.csv"
measure "one process (2 threads)" "$cli"
for n in 1 2 4; do
  measure "mpirun -n $n" "${mpirun_cmd[@]}" -n "$n" "$cli"
done
rm -f "$work/mpi.reference.csv" "$work"/mpi.csv*
