#!/bin/bash
# The batch recipes of docs/hpc.md in a real one-node SLURM (issue #33), started here from
# Debian's packages (munge, slurmctld, slurmd; proctrack/linuxproc, task/none, no cgroup plugin)
# on ports of its own, and stopped at the end (only the daemons this script started, by pid).
# Each recipe's CSV must be byte-identical to a run never stopped.
#   usage: slurm_recipes.sh RASTERFLOW_BINARY SOURCE_DIR
# Exit 77 (CTest: skipped) only when the daemons cannot start here, saying why; any other
# failure is a failure.
set -u
cli=$(readlink -f "$1")
src=$(readlink -f "$2")
work=$(mktemp -d /tmp/rasterflow-slurm.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$work"
}
trap cleanup EXIT
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; for f in "$work"/log/*; do echo "== $f"; tail -20 "$f"; done; exit 1; }

for tool in munged mungekey slurmctld slurmd sbatch scontrol squeue scancel; do
  command -v "$tool" > /dev/null || skip "$tool not found: apt-get install slurm-wlm munge (scripts/bootstrap.sh)"
done
mkdir -p "$work"/{state,spool,log,munge,job}
chmod 700 "$work/munge"
mungekey -c -k "$work/munge/munge.key" -b 1024 > /dev/null 2>&1 || skip "mungekey cannot create a key"
chmod 400 "$work/munge/munge.key"
munged -f --key-file="$work/munge/munge.key" --socket="$work/munge/sock" --pid-file="$work/munge/pid" \
  --log-file="$work/log/munged.log" --seed-file="$work/munge/seed" || skip "munged does not start (see above)"
for _ in $(seq 50); do [ -s "$work/munge/pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/pid")")

host=$(hostname)
port=$((20000 + RANDOM % 20000))
cat > "$work/slurm.conf" << CONF
ClusterName=rasterflowtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=pmix
KillWait=30
InactiveLimit=0
MinJobAge=300
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D > "$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D > "$work/log/slurmd.out" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || skip "slurmctld/slurmd did not bring the node up within 20 s: $(tail -3 "$work/log/slurmd.out" "$work/log/slurmctld.out" | tr '\n' ' ')"
echo "SLURM $(slurmctld -V) up on $host (ports $port-$((port + 1)))"

# The project: the demo graph on the medium sample data, and its CSV from a run never stopped.
"$cli" sample-data "$work/sample_data" --size medium > /dev/null || fail "sample-data"
mkdir -p "$work/graphs"
cp "$src/graphs/demo.json" "$work/graphs/demo.json"
"$cli" run "$work/graphs/demo.json" --output-dir "$work/ref" --threads 1 --progress never \
  > "$work/log/reference.txt" 2>&1 || fail "the reference run"
reference="$work/ref/merged.csv"

# Waits (bounded) until job $1 has left the queue.
wait_job() {
  for _ in $(seq 900); do
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  fail "job $1 still in the queue after 180 s"
}
# Waits until a checkpoint under $1 records rows (the run is writing), or the job $2 ended.
wait_rows() {
  for _ in $(seq 3000); do
    for c in "$1"/merged.csv*.checkpoint; do
      [ -f "$c" ] && grep -q '"bytes":[1-9]' "$c" && return 0
    done
    [ -z "$(squeue -h -j "$2" 2>/dev/null)" ] && return 1
    sleep 0.02
  done
  return 1
}
# The job script of docs/hpc.md (single process): $1 out dir, $2 extra #SBATCH lines, $3 the
# launch ("" or "srun"), $4 what to do on 130 ("" or "requeue").
write_script() {
  cat << SCRIPT
#!/bin/bash
#SBATCH --job-name=rasterflow-test
$2
args=(run $work/graphs/demo.json --output-dir $1 --threads 1 --progress never --set checkpoint.interval_s=0.05)
if compgen -G "$1/merged.csv*.checkpoint" > /dev/null; then args+=(--resume); fi
$3 $cli "\${args[@]}" &
pid=\$!
trap 'kill -TERM "\$pid" 2>/dev/null' TERM INT USR1 USR2 XCPU
wait "\$pid"; status=\$?
while kill -0 "\$pid" 2>/dev/null; do wait "\$pid"; status=\$?; done
echo "rasterflow exit \$status"
if [ "$4" = requeue ] && [ "\$status" = 130 ]; then scontrol requeue "\$SLURM_JOB_ID"; fi
exit "\$status"
SCRIPT
}
same() { cmp -s "$reference" "$1/merged.csv" || fail "$2: $1/merged.csv differs from the run never stopped"; }

# 1, 2: single process, the batch shell signalled (what --signal=B:SIG@N sends), TERM and USR1;
# then the same script again resumes.
for sig in TERM USR1; do
  out="$work/out-$sig"
  write_script "$out" "#SBATCH --signal=B:$sig@60" "" "" > "$work/job/$sig.sh"
  id=$(sbatch --parsable -o "$work/log/$sig-1.txt" --mem=400M "$work/job/$sig.sh") || fail "sbatch"
  wait_rows "$out" "$id" || fail "$sig: the job ended before writing rows: $(cat "$work/log/$sig-1.txt")"
  scancel --batch --signal="$sig" "$id"
  wait_job "$id"
  grep -q "rasterflow exit 130" "$work/log/$sig-1.txt" || fail "$sig: $(cat "$work/log/$sig-1.txt")"
  grep -q "resume with:" "$work/log/$sig-1.txt" || fail "$sig: no resume command: $(cat "$work/log/$sig-1.txt")"
  id=$(sbatch --parsable -o "$work/log/$sig-2.txt" --mem=400M "$work/job/$sig.sh") || fail "sbatch"
  wait_job "$id"
  grep -q "rasterflow exit 0" "$work/log/$sig-2.txt" || fail "$sig resumed: $(cat "$work/log/$sig-2.txt")"
  grep -q "continuing at row" "$work/log/$sig-2.txt" || fail "$sig: the second job did not resume"
  same "$out" "$sig"
  echo "ok: single process, SIG$sig to the batch shell, resubmitted: same bytes"
done

# 3: requeue on exit 130 (scontrol requeue from the script: --requeue alone does not requeue a
# job that exits 130); the requeued job resumes.
out="$work/out-requeue"
write_script "$out" "#SBATCH --signal=B:TERM@60
#SBATCH --requeue
#SBATCH --open-mode=append" "" requeue > "$work/job/requeue.sh"
id=$(sbatch --parsable -o "$work/log/requeue.txt" --mem=400M "$work/job/requeue.sh") || fail "sbatch"
wait_rows "$out" "$id" || fail "requeue: the job ended before writing rows"
scancel --batch --signal=TERM "$id"
for _ in $(seq 900); do
  [ -f "$out/merged.csv" ] && [ -z "$(squeue -h -j "$id" 2>/dev/null)" ] && break
  # A requeued job waits for its begin time; release it at once.
  scontrol release "$id" > /dev/null 2>&1
  scontrol update jobid="$id" starttime=now > /dev/null 2>&1
  sleep 0.2
done
wait_job "$id"
grep -q "rasterflow exit 130" "$work/log/requeue.txt" || fail "requeue: not interrupted: $(cat "$work/log/requeue.txt")"
grep -q "rasterflow exit 0" "$work/log/requeue.txt" || fail "requeue: not requeued and resumed: $(cat "$work/log/requeue.txt")"
same "$out" "requeue"
echo "ok: exit 130 requeued with scontrol requeue, resumed: same bytes"

# 4: MPI, two ranks through srun, signalled as --signal=TERM@N (no B:) does: every task of the
# job's steps gets SIGTERM, the batch shell none.
if "$cli" --version > /dev/null && ldd "$cli" | grep -q libmpi; then
  out="$work/out-mpi"
  write_script "$out" "#SBATCH --ntasks=2
#SBATCH --signal=TERM@60" "srun --mpi=pmix" "" > "$work/job/mpi.sh"
  id=$(sbatch --parsable -o "$work/log/mpi-1.txt" --mem=800M "$work/job/mpi.sh") || fail "sbatch"
  wait_rows "$out" "$id" || fail "MPI: the job ended before writing rows: $(cat "$work/log/mpi-1.txt")"
  scancel --signal=TERM "$id"
  wait_job "$id"
  grep -q "interrupted" "$work/log/mpi-1.txt" || fail "MPI: the ranks were not interrupted: $(cat "$work/log/mpi-1.txt")"
  ls "$out"/merged.csv.rank*.checkpoint > /dev/null 2>&1 || fail "MPI: no rank checkpoint: $(cat "$work/log/mpi-1.txt")"
  id=$(sbatch --parsable -o "$work/log/mpi-2.txt" --mem=800M "$work/job/mpi.sh") || fail "sbatch"
  wait_job "$id"
  grep -q "rasterflow exit 0" "$work/log/mpi-2.txt" || fail "MPI resumed: $(cat "$work/log/mpi-2.txt")"
  same "$out" "MPI"
  echo "ok: MPI, 2 ranks under srun, SIGTERM to the steps (--signal=TERM@N), resubmitted: same bytes"
else
  echo "MPI recipe not run: this rasterflow is built without MPI"
fi

# 5: metrics --suggest's lines (from the reference run, complete) as the job script's #SBATCH
# lines: the job runs and finishes.
sugg=$("$cli" metrics --sqlite "$work/ref/rasterflow_metrics.sqlite" --suggest) || fail "suggest: $sugg"
lines=$(echo "$sugg" | grep -o '#SBATCH --[a-z-]*=[^ ]*' | sort -u)
echo "$lines" | grep -q -- '--mem=' || fail "suggest printed no --mem: $sugg"
echo "$lines" | grep -q -- '--time=' || fail "suggest printed no --time: $sugg"
echo "$lines" | grep -q -- '--signal=B:TERM@' || fail "suggest printed no --signal: $sugg"
out="$work/out-suggest"
write_script "$out" "$lines" "" "" > "$work/job/suggest.sh"
id=$(sbatch --parsable -o "$work/log/suggest.txt" "$work/job/suggest.sh") || fail "sbatch of suggest's script: $lines"
wait_job "$id"
grep -q "rasterflow exit 0" "$work/log/suggest.txt" || fail "suggest's job: $(cat "$work/log/suggest.txt")"
grep -q "memory limit .*SLURM_MEM_PER_NODE" "$work/log/suggest.txt" || fail "suggest's job did not take SLURM's limit: $(cat "$work/log/suggest.txt")"
same "$out" "suggest"
echo "ok: metrics --suggest's #SBATCH lines ($(echo $lines)) as a job script: same bytes"
echo "all SLURM recipes passed"
