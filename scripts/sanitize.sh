#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, then the flow-graph,
# monitor and metrics tests under ThreadSanitizer, then each libFuzzer target for a fixed time.
#   scripts/sanitize.sh [asan|tsan|fuzz]...     (default: all three)
# Run after scripts/bootstrap.sh (packages installed). Builds into build-asan/ (clang: ASan,
# UBSan and the fuzzers share it) and build-tsan/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${RASTERFLOW_JOBS:-2}"
fuzz_seconds="${RASTERFLOW_FUZZ_SECONDS:-30}"
# A fixed seed, so CI repeats (a prefix of) a run checked before committing; 0 picks one at random.
fuzz_seed="${RASTERFLOW_FUZZ_SEED:-1}"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(asan tsan fuzz)
command -v clang++ > /dev/null || { echo "sanitize: clang++ is needed (Debian: clang)"; exit 1; }

configure_asan() {
  # Line tables only (-gline-tables-only, gcc's -g1 for TSan): reports keep function, file and line,
  # and the sanitized builds compile and link faster (CI's time).
  CXX=clang++ cmake -S "$here" -B "$here/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only" \
    -DRASTERFLOW_FUZZ=ON -DRASTERFLOW_BUILD_BENCH=OFF -DRASTERFLOW_PYTHON=OFF > /dev/null
  cmake --build "$here/build-asan" -j "$jobs"
}

for step in "${steps[@]}"; do
  case "$step" in
    asan)
      echo "== AddressSanitizer + UndefinedBehaviorSanitizer: whole suite"
      configure_asan
      # detect_leaks=0: LeakSanitizer reports GDAL's and PROJ's process-lifetime caches.
      # Left out: Embed.* builds an outside program with the system compiler, which cannot link
      # an ASan library; Pressure.Ballast.ThrottlesAndKeepsTheBytes needs RSS to fall when its
      # ballast is freed, and ASan keeps freed memory and its shadow resident (the engine then
      # correctly pauses and stops, as that test's neighbour PauseBeforeKill checks);
      # RasterSink.Memory.PeakRss... bounds a run's peak RSS, which ASan's quarantine and shadow
      # memory inflate (408 MiB against 74 MiB unsanitized); Cgroup.PageCacheIsNoPressure runs the
      # binary in a 160 MiB cgroup, which ASan's shadow memory overruns (the kernel kills it);
      # Resume.RefusedWhenAnythingDiffers stops a run at moments chosen for its unsanitized speed
      # (under ASan nothing is checkpointed yet); Memory.Limit.RlimitAs sets a 1 GiB RLIMIT_AS in a
      # child, and ASan, whose shadow memory alone reserves terabytes of address space, cannot map
      # anything more under it ("Failed to mmap"); BlockRows.OneRowStrips.LinearInRows times 100k
      # one-row strips three times, a timing ratio that ASan's per-allocation cost makes exceed the
      # test's timeout. Left out for CI's time too (30 minutes in all): four process-orchestration
      # tests that repeat whole runs dozens of times (5 minutes of ASan CPU between them) and whose
      # code paths their lighter neighbours run under ASan here: Slurm.Recipes (serial; the
      # signals, locks and resume it drives through sbatch are Resume.BatchStopSignals.* and
      # Resume.OneWriterPerOutput's), Resume.Mpi.TwoRanksResumeTheirBands (Mpi.TwoAndThreeRanks.*
      # and Resume.Sigterm...), Resume.CompressedCsv.SigtermAndSigkillAtRandomPoints.SameText
      # (Resume.SigtermAndSigkillAtRandomPoints.SameBytes and CompressedCsv.*).
      # All of them run in the plain suite.
      (cd "$here/build-asan" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j "$jobs" -E "Embed\\.|Memory\\.Limit\\.RlimitAs|BlockRows\\.OneRowStrips\\.LinearInRows|Pressure\\.Ballast\\.ThrottlesAndKeepsTheBytes|RasterSink\\.Memory\\.PeakRss|Cgroup\\.PageCacheIsNoPressure|Resume\\.RefusedWhenAnythingDiffers|Slurm\\.Recipes|Resume\\.Mpi\\.TwoRanksResumeTheirBands|Resume\\.CompressedCsv\\.SigtermAndSigkillAtRandomPoints")
      ;;
    tsan)
      echo "== ThreadSanitizer: flow graph, monitor, metrics, a NetCDF-4 (HDF5) source read by two threads"
      # history_size=7: the longest memory of past accesses, so that both stacks of a report are
      # restored and the suppressions of uninstrumented oneTBB (matched on either) apply. The
      # BlockRows linearity timing test is left out, as under ASan, and so is
      # Modes.InMemory.RefusedWhenTheGridDoesNotFit, which expects the in-memory refusal at a 256 MiB
      # limit that TSan's own ~200 MiB of resident shadow memory already exhausts, so the plan
      # refuses earlier (both run in the plain suite).
      cmake -S "$here" -B "$here/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
        -DRASTERFLOW_SANITIZE=thread -DRASTERFLOW_BUILD_BENCH=OFF -DRASTERFLOW_PYTHON=OFF > /dev/null
      cmake --build "$here/build-tsan" -j "$jobs" --target test_engine test_graphs test_nodes rasterflow
      (cd "$here/build-tsan" && TSAN_OPTIONS="suppressions=$here/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1:history_size=7" \
        ctest --output-on-failure -j "$jobs" -E "BlockRows\\.OneRowStrips\\.LinearInRows|Modes\\.InMemory\\.RefusedWhenTheGridDoesNotFit" -R "^(Memory|Modes|Budget|EndToEnd|MetricsRun\\.Sqlite|Metrics\\.|Numa\\.|TileMemory\\.|BlockRows\\.|TiffTiles\\.|Runner\\.|Seams\\.|CompressedCsv\\.|RasterSink\\.(Formats|GTiff)|RasterSource\\.|NetCDF4\\.)")
      ;;
    fuzz)
      echo "== libFuzzer: ${fuzz_seconds}s per target"
      targets=(graph config parsers tiff)
      # An existing build-asan/ is brought up to date (the fuzzers only), else configured and built.
      if [ -f "$here/build-asan/build.ninja" ]; then
        cmake --build "$here/build-asan" -j "$jobs" --target "${targets[@]/#/fuzz_}"
      else
        configure_asan
      fi
      for target in "${targets[@]}"; do
        # Inputs up to 4 KiB, but GeoTIFFs: their seeds are up to 16 KiB (fuzz/make_tiff_corpus.py).
        max_len=4096
        [ "$target" != tiff ] || max_len=20000
        corpus="$(mktemp -d)"
        cp "$here/fuzz/corpus/$target"/* "$corpus"/
        log="$(mktemp)"
        if ! (cd "$corpus" && ASAN_OPTIONS=detect_leaks=0 "$here/build-asan/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" -seed="$fuzz_seed" \
              -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$here/build-asan/fuzz/crash-$target-" "$corpus" > "$log" 2>&1); then
          tail -40 "$log"
          echo "fuzz_$target: crashed; the input is in build-asan/fuzz/crash-$target-*"
          exit 1
        fi
        grep -E "^Done|stat::number_of_executed_units" "$log" | sed "s/^/fuzz_$target: /"
        rm -f "$log"
        rm -rf "$corpus"
      done
      ;;
    *) echo "sanitize: unknown step $step (asan, tsan, fuzz)"; exit 2 ;;
  esac
done
echo "sanitize: ${steps[*]} clean"
