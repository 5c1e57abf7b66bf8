#!/usr/bin/python3
"""Byte-identity of rasterflow's outputs between two builds: the harness's graphs (small and
medium data, fine and coarse grids) run in each mode and limit by both commands, every output
file compared with cmp. What #27's redesign step was checked with.

    bench/identity.py --reference /work/baseline/bin/rasterflow --candidate build/rasterflow

Each case runs in the same folder with the same file names for both commands (the Parquet
footer names the graph and the raster outputs their file names), so any byte that differs is a
difference in what the engine wrote. Exit status 1 when any output differs or a run fails.
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import GRIDS, graph_json  # noqa: E402

# (name, extra command-line arguments, per-node overrides, sink replacing csv_sink)
CASES = [
    ("streaming", [], None, None),
    ("in_memory", ["--in-memory"], None, None),
    ("limit_256MiB", ["--memory-limit", "256MiB"], None, None),
    ("threads_1", ["--threads", "1"], None, None),
    ("warper", [], {c: {"implementation": "warper"} for c in ("temperature", "elevation", "landcover")}, None),
    ("csv_zst", [], None, {"type": "csv_sink", "path": "out.csv.zst"}),
    ("csv_gz", [], None, {"type": "csv_sink", "path": "out.csv.gz"}),
    ("parquet", [], None, {"type": "parquet_sink", "path": "out.parquet"}),
    ("geoparquet", [], None, {"type": "parquet_sink", "path": "out.parquet", "geometry": "point"}),
    ("raster_tif", [], None, {"type": "raster_sink", "path": "out.tif"}),
    ("raster_nc", [], None, {"type": "raster_sink", "path": "out.nc"}),
]


def graph(data, res, overrides, sink):
    g = graph_json(data, "out.csv", overrides, res)
    if sink:
        g["nodes"][-1] = dict(sink, id="table", inputs=["merged"])
    return g


def run(cli, graph_path, out_dir, args):
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    cmd = [cli, "run", graph_path, "--output-dir", out_dir, "--log-level", "error",
           "--set", "metrics.backend=none"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return sorted(f for f in os.listdir(out_dir) if not f.endswith(".lock"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", required=True, help="the rasterflow command of the build before")
    p.add_argument("--candidate", required=True, help="the rasterflow command of the build after")
    p.add_argument("--sizes", default="small,medium")
    p.add_argument("--work", default="/tmp/rasterflow-identity")
    a = p.parse_args()
    failures = compared = 0
    for size in a.sizes.split(","):
        data = os.path.join(a.work, size, "data")
        if not os.path.exists(os.path.join(data, "landcover.tif")):
            subprocess.run([a.reference, "sample-data", data, "--size", size], check=True, stdout=subprocess.DEVNULL)
        for grid, res in GRIDS.items():
            for name, args, overrides, sink in CASES:
                d = os.path.join(a.work, size, grid, name)
                os.makedirs(d, exist_ok=True)
                gpath = os.path.join(d, "graph.json")
                with open(gpath, "w") as f:
                    json.dump(graph(data, res, overrides, sink), f)
                out = os.path.join(d, "out")
                try:
                    ref_files = run(a.reference, gpath, out, args)
                    kept = os.path.join(d, "reference")
                    shutil.rmtree(kept, ignore_errors=True)
                    shutil.move(out, kept)
                    cand_files = run(a.candidate, gpath, out, args)
                except RuntimeError as e:
                    print(f"FAIL {size}/{grid}/{name}: {e}")
                    failures += 1
                    continue
                same = ref_files == cand_files and all(
                    filecmp.cmp(os.path.join(kept, f), os.path.join(out, f), shallow=False) for f in ref_files)
                compared += len(ref_files)
                print(f"{'same' if same else 'DIFFERS'} {size}/{grid}/{name}: {', '.join(ref_files)}", flush=True)
                failures += 0 if same else 1
    print(f"{compared} output files compared, {failures} cases differ or fail")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
