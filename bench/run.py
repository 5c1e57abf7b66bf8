#!/usr/bin/python3
"""rasterflow's benchmark harness: one command, every scenario, the tools a user would pick
instead, figures as JSON, a Markdown table and a plot.

    bench/run.py                       # small and medium, 3 runs each (under 30 minutes)
    bench/run.py --sizes small,medium,large --repeats 3
    bench/run.py --quick               # small only, 1 run: a smoke test of the harness
    bench/run.py --sizes large --grids coarse --repeats 3 --append
                                       # input-heavy: large's rasters onto a grid 6 x coarser than the finest
    bench/run.py --sizes large --no-sweep --no-compare --repeats 2 --append
                                       # large (opt-in): rasterflow and the floor, added to the table

Each scenario is run once to warm up, then N times; the table gives the median wall time with
its spread (min-max), CPU seconds and peak RSS of the child (getrusage via wait4), cells per
second, output MB/s, and rasterflow's per-node busy time from the run's metrics database.
Comparisons (GDAL command line, rasterio + xarray + pandas, and the floor) are checked to give
the same cells and values as rasterflow before their time counts.
Debian's python3 (/usr/bin/python3) with python3-gdal, -numpy, -rasterio, -xarray, -pandas
(`scripts/bootstrap.sh --bench` installs them) and gnuplot for the plot.
"""
import argparse
import filecmp
import itertools
import json
import resource
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESOLUTION = 0.02  # the output-heavy grid of every size: 2x the finest raster (temperature)
# The grids each size is run on: output-heavy (the grid 2x the finest raster: as many rows as a
# quarter of its pixels) and input-heavy ("coarse": 6x the finest, the shape of climate and
# land-cover summaries: every input pixel is decoded for a grid of 1/36 of them).
GRIDS = {"fine": 0.02, "coarse": 0.06}
ORDER = ["small", "small-coarse", "medium", "medium-coarse", "large", "large-coarse"]
METHODS = {"temperature": "average", "elevation": "average", "landcover": "nearest"}
SOURCES = {"temperature": "temperature.tif", "elevation": "elevation.tif", "landcover": "landcover.tif"}


def run_child(cmd, **kwargs):
    """Runs cmd; returns (wall s, cpu s, peak RSS bytes, returncode)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def snap(extent, res):
    """Snaps an extent outwards to multiples of res, with rasterflow's tolerance of 1e-9 cell."""
    def down(v):
        k = v / res
        return (round(k) if abs(k - round(k)) < 1e-9 else math.floor(k)) * res
    def up(v):
        k = v / res
        return (round(k) if abs(k - round(k)) < 1e-9 else math.ceil(k)) * res
    return (down(extent[0]), down(extent[1]), up(extent[2]), up(extent[3]))


def graph_json(data_dir, out_name, overrides=None, resolution=RESOLUTION):
    nodes = []
    for col, tif in SOURCES.items():
        nodes.append({"id": col + "_src", "type": "raster_source", "path": os.path.join(data_dir, tif)})
    for col, method in METHODS.items():
        node = {"id": col, "type": "resample", "inputs": [col + "_src"], "method": method}
        node.update((overrides or {}).get(col, {}))
        nodes.append(node)
    nodes.append({"id": "merged", "type": "merge", "inputs": list(METHODS)})
    nodes.append({"id": "table", "type": "csv_sink", "inputs": ["merged"], "path": out_name})
    return {"name": "bench", "grid": {"crs": "EPSG:4326", "resolution": resolution}, "nodes": nodes}


class Bench:
    def __init__(self, args):
        self.args = args
        self.cli = args.cli
        self.work = args.work
        self.results = []
        self.resolution = RESOLUTION

    def repeat(self, name, size, cmd, cells, out_file, extra=None, **kwargs):
        runs = []
        run_child(cmd, **kwargs)  # warm-up
        for _ in range(self.args.repeats):
            runs.append(run_child(cmd, **kwargs))
        return self.record(name, size, runs, cells, out_file, extra)

    def record(self, name, size, runs, cells, out_file, extra=None):
        walls = sorted(r[0] for r in runs)
        wall = statistics.median(walls)
        out_bytes = os.path.getsize(out_file) if out_file and os.path.exists(out_file) else 0
        row = {"size": size, "scenario": name, "wall_s": wall, "wall_min": walls[0], "wall_max": walls[-1],
               "cpu_s": statistics.median(r[1] for r in runs), "peak_rss_mib": max(r[2] for r in runs) / 2**20,
               "cells_per_s": cells / wall, "out_mb_per_s": out_bytes / wall / 1e6, "out_bytes": out_bytes}
        row.update(extra or {})
        self.results.append(row)
        print(f"  {name:38s} {wall:8.2f} s  [{walls[0]:.2f}-{walls[-1]:.2f}]  {row['peak_rss_mib']:7.0f} MiB  "
              f"{row['cells_per_s'] / 1e6:6.2f} Mcells/s", flush=True)
        return row

    def rasterflow(self, size, data, cells, name, args=(), overrides=None, node_busy=False, env=None):
        d = os.path.join(self.work, size)
        graph = os.path.join(d, "bench.json")
        with open(graph, "w") as f:
            json.dump(graph_json(data, "rasterflow.csv", overrides, self.resolution), f)
        metrics = os.path.join(d, "metrics.sqlite")
        cmd = [self.cli, "run", graph, "--output-dir", d, "--log-level", "error",
               "--set", f"metrics.sqlite_path={metrics}"] + list(args)
        extra = {}
        kwargs = {"env": dict(os.environ, **env)} if env else {}
        row = self.repeat(name, size, cmd, cells, os.path.join(d, "rasterflow.csv"), extra, **kwargs)
        if node_busy:
            db = sqlite3.connect(metrics)
            exp = db.execute("SELECT MAX(id) FROM experiments").fetchone()[0]
            row["node_busy_s"] = {s: b for s, b in db.execute(
                "SELECT stage, busy_seconds FROM v_stage_summary WHERE experiment_id = ? ORDER BY busy_seconds DESC", (exp,))}
            db.close()
        return row

    def size(self, base, grid):
        """One data size on one grid: `base` (small, medium, large) names the rasters, `grid`
        (fine, coarse) the target resolution; results are labelled base or base-coarse."""
        size = base if grid == "fine" else f"{base}-{grid}"
        self.resolution = GRIDS[grid]
        d = os.path.join(self.work, size)
        data = os.path.join(self.work, base, "data")
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(data, "landcover.tif")):
            subprocess.run([self.cli, "sample-data", data, "--size", base], check=True, stdout=subprocess.DEVNULL)
        from osgeo import gdal
        ds = gdal.Open(os.path.join(data, "temperature.tif"))
        gt = ds.GetGeoTransform()
        # The grid rasterflow makes: the sources' extent snapped outwards to multiples of the
        # resolution (as gdalwarp -tap), which the other routes are then given (-te, -ts).
        res = self.resolution
        extent = snap((gt[0], gt[3] + ds.RasterYSize * gt[5], gt[0] + ds.RasterXSize * gt[1], gt[3]), res)
        width = round((extent[2] - extent[0]) / res)
        height = round((extent[3] - extent[1]) / res)
        pixels = sum(gdal.Open(os.path.join(data, t)).RasterXSize * gdal.Open(os.path.join(data, t)).RasterYSize
                     for t in SOURCES.values())
        ds = None
        cells = width * height
        print(f"{size}: grid {width} x {height} = {cells} cells, {pixels} input pixels", flush=True)
        threads = os.cpu_count()
        ref = self.rasterflow(size, data, cells, "rasterflow (streaming, default)", node_busy=True)
        ref["input_pixels"] = pixels
        reference_csv = os.path.join(d, "reference.csv")
        shutil.copy(os.path.join(d, "rasterflow.csv"), reference_csv)
        if grid == "coarse" and not self.args.quick and not self.args.no_sweep:
            # What the issue of input-heavy merges measures: both cores on decoding, and a limit.
            for t in sorted({1, threads}):
                self.rasterflow(size, data, cells, f"rasterflow threads={t}", ["--threads", str(t)])
            self.rasterflow(size, data, cells, "rasterflow --memory-limit 256MiB", ["--memory-limit", "256MiB"])
            if not filecmp.cmp(reference_csv, os.path.join(d, "rasterflow.csv"), shallow=False):
                raise RuntimeError("the memory limit changed the CSV")
        elif not self.args.quick and not self.args.no_sweep:
            for t in sorted({1, 2, threads}):
                self.rasterflow(size, data, cells, f"rasterflow threads={t}", ["--threads", str(t)], extra_threads(t))
            for w in (512, 1024, 2048, 4096):
                self.rasterflow(size, data, cells, f"rasterflow window_size={w}", ["--set", f"resampling.window_size={w}"],
                                extra_window(w))
            self.rasterflow(size, data, cells, "rasterflow in-memory", ["--in-memory"])
            for limit in ("1GiB", "256MiB"):
                self.rasterflow(size, data, cells, f"rasterflow --memory-limit {limit}", ["--memory-limit", limit])
            self.rasterflow(size, data, cells, "rasterflow warper path only", [],
                            {c: {"implementation": "warper"} for c in METHODS})
            # NUMA placement: off, and on over two NUMA nodes as hwloc and tbbbind see them
            # (synthetic on a one-node machine: two arenas and pools, nothing bound), checked
            # byte for byte against the default run.
            self.rasterflow(size, data, cells, "rasterflow engine.numa=off", ["--set", "engine.numa=off"])
            self.rasterflow(size, data, cells, "rasterflow NUMA on, 2 synthetic nodes", [], None, False,
                            {"HWLOC_SYNTHETIC": f"pack:2 numa:1 core:{max(1, threads // 2)} pu:1"})
            if not filecmp.cmp(reference_csv, os.path.join(d, "rasterflow.csv"), shallow=False):
                raise RuntimeError("NUMA placement changed the CSV")
        if not self.args.no_compare:
            self.gdal_cli(size, data, d, cells, width, height, extent, reference_csv)
            self.xarray(size, data, d, cells, width, height, extent, reference_csv)
        self.floor(size, data, d, cells, os.path.getsize(reference_csv))

    def gdal_cli(self, size, data, d, cells, width, height, extent, reference_csv):
        script = os.path.join(d, "gdal_pipeline.sh")
        te = " ".join(repr(v) for v in extent)
        lines = ["set -e", f"cd {d}"]
        for col, method in METHODS.items():
            lines.append(f"gdalwarp -q -overwrite -multi -wo NUM_THREADS=ALL_CPUS -te {te} -ts {width} {height} -r {method} "
                         f"-ot Float64 -dstnodata -9999 {os.path.join(data, SOURCES[col])} gdal_{col}.tif")
        lines.append("gdalbuildvrt -q -overwrite -separate gdal_stack.vrt " + " ".join(f"gdal_{c}.tif" for c in METHODS))
        lines.append("gdal2xyz.py -allbands -csv -skipnodata gdal_stack.vrt gdal.csv")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.comparison("GDAL CLI (gdalwarp + buildvrt + gdal2xyz)", size, ["bash", script], cells,
                        os.path.join(d, "gdal.csv"), reference_csv, header=False)

    def xarray(self, size, data, d, cells, width, height, extent, reference_csv):
        out = os.path.join(d, "xarray.csv")
        cmd = ["/usr/bin/python3", os.path.join(HERE, "xarray_route.py"), data, out, repr(self.resolution)] + [repr(v) for v in extent]
        self.comparison("rasterio + xarray + pandas", size, cmd, cells, out, reference_csv, header=True)

    def comparison(self, name, size, cmd, cells, out, reference_csv, header):
        """Runs another tool's route, checks its output against rasterflow's, then times it. On
        grids over 20 M cells, --slow-once times the checked run itself (no warm-up, one run).
        Each route runs under an address-space limit of 80% of the machine's memory, so that one
        that cannot fit fails (and is reported so) instead of swapping the machine to a halt."""
        limit = int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        limited = {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))}
        slow = cells > 20e6
        try:
            first = run_child(cmd, **limited)
        except RuntimeError as e:
            reason = str(e).strip().splitlines()[-1][:300]
            print(f"  {name}: FAILED: {reason}", flush=True)
            self.results.append({"size": size, "scenario": name, "failed": reason,
                                 "address_space_limit_gib": round(limit / 2**30, 1)})
            return
        same = compare_in_child(reference_csv, out, header=header)
        print(f"  {name} output: {same}", flush=True)
        if slow and self.args.skip_slow:
            return
        if slow and self.args.slow_once:
            self.record(name, size, [first], cells, out, {"check": same, "runs": "one (--slow-once)"})
            return
        self.repeat(name, size, cmd, cells, out, {"check": same}, **limited)

    def floor(self, size, data, d, cells, out_bytes):
        out = os.path.join(d, "floor.bin")
        cmd = [self.args.floor, out, str(out_bytes)] + [os.path.join(data, t) for t in SOURCES.values()]
        self.repeat("floor (decode inputs + write output bytes)", size, cmd, cells, out)
        os.remove(out)


def extra_threads(t):
    return None


def extra_window(w):
    return None


def compare_csv(reference, other, header):
    """Same cells and values (within resampling tolerance and the other tool's printing). Both
    files are in raster order (north to south, then west to east), so they are read side by
    side, a line at a time: memory stays small whatever the grid (large: 162 M rows)."""
    def rows(path, skip_header):
        with open(path) as f:
            if skip_header:
                next(f)
            for line in f:
                parts = line.rstrip("\n").split(",")
                key = (round(float(parts[0]), 6), round(float(parts[1]), 6))
                yield key, [float(v) if v not in ("", "nan", "-9999", "-9999.0") else None for v in parts[2:]]
    worst = 0.0
    n = 0
    missing = object()
    for (ka, va), (kb, vb) in itertools.zip_longest(rows(reference, True), rows(other, header), fillvalue=(missing, None)):
        if ka is missing or kb is missing:
            return f"DIFFERENT: {'rasterflow' if ka is missing else 'the other'} has fewer rows (after {n})"
        if ka != kb:
            return f"DIFFERENT: row {n + 1} is cell {ka} in rasterflow's CSV and {kb} in the other"
        for x, y in zip(va, vb):
            if (x is None) != (y is None):
                return f"DIFFERENT: nodata differs at {ka}: {va} vs {vb}"
            if x is not None:
                worst = max(worst, abs(x - y) / max(1.0, abs(x)))
        n += 1
    if worst > 1e-5:
        return f"DIFFERENT: values differ by {worst:.2e} (relative)"
    return f"same {n} cells, values within {worst:.1e}"


def compare_in_child(reference, other, header):
    """compare_csv in a child process: the harness stays small, so the children it forks do not
    inherit a large RSS (ru_maxrss of a child counts the pages it shared at fork time)."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--compare", reference, other, "1" if header else "0"],
                       check=True, capture_output=True, text=True)
    return r.stdout.strip()


def write_reports(bench, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    bench.results.sort(key=lambda r: ORDER.index(r["size"]) if r["size"] in ORDER else len(ORDER))  # stable: --append keeps sizes in order
    machine = {"host": platform.node(), "cpus": os.cpu_count(), "system": platform.platform(),
               "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": machine, "results": bench.results}, f, indent=1)
    lines = [f"Machine: {machine['cpus']} cores, {machine['memory_gib']} GiB, {machine['system']}", "",
             "| size | scenario | wall s (median) | spread s | CPU s | peak RSS MiB | Mcells/s | output MB/s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in bench.results:
        if r.get("earlier_run"):
            r = dict(r, scenario=r["scenario"] + " (earlier run)")
        if "failed" in r:
            lines.append(f"| {r['size']} | {r['scenario']} | failed under an address-space limit of "
                         f"{r['address_space_limit_gib']} GiB: {r['failed'][:160]} | | | | | |")
            continue
        lines.append(f"| {r['size']} | {r['scenario']} | {r['wall_s']:.2f} | {r['wall_min']:.2f}-{r['wall_max']:.2f} | "
                     f"{r['cpu_s']:.2f} | {r['peak_rss_mib']:.0f} | {r['cells_per_s'] / 1e6:.2f} | {r['out_mb_per_s']:.1f} |")
    # Targets: ratios to the comparisons and the floor, and time per input pixel across sizes.
    lines += ["", "| size | input Mpixels | rasterflow s | s per 100 M input pixels | vs GDAL CLI | vs xarray | vs floor |",
              "|---|---|---|---|---|---|---|"]
    for r in bench.results:
        if r["scenario"] != "rasterflow (streaming, default)" or "input_pixels" not in r:
            continue
        def ratio(prefix, unit=" x faster"):
            other = [o for o in bench.results if o["size"] == r["size"] and o["scenario"].startswith(prefix)]
            if other and "failed" in other[0]:
                return "it failed"
            return f"{other[0]['wall_s'] / r['wall_s']:.2f}{unit}" if other else "-"
        lines.append(f"| {r['size']} | {r['input_pixels'] / 1e6:.0f} | {r['wall_s']:.2f} | "
                     f"{r['wall_s'] / r['input_pixels'] * 1e8:.2f} | {ratio('GDAL CLI')} | {ratio('rasterio')} | "
                     f"{ratio('floor', '')} (floor/rasterflow) |")
    busy = [r for r in bench.results if "node_busy_s" in r]
    if busy:
        lines += ["", "Per-node busy seconds (rasterflow default, summed over threads):", ""]
        for r in busy:
            lines.append(f"- {r['size']}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["node_busy_s"].items()))
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(bench.results, out_dir)
    print("\n".join(lines))


def plot(results, out_dir):
    if shutil.which("gnuplot") is None:
        print("gnuplot not found: no plot")
        return
    if not any("rasterflow threads=" in r["scenario"] for r in results):
        return  # no sweep, nothing to plot
    dat = os.path.join(out_dir, "throughput.dat")
    sizes = sorted({r["size"] for r in results}, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER))
    blocks = []  # (kind, size) in file order: one gnuplot index each
    with open(dat, "w") as f:
        for kind in ("threads", "window_size"):
            for size in sizes:
                rows = [r for r in results if r["size"] == size and f"rasterflow {kind}=" in r["scenario"]]
                if not rows:
                    continue
                for r in rows:
                    f.write(f"{r['scenario'].split('=')[1]} {r['cells_per_s'] / 1e6:.3f}\n")
                f.write("\n\n")
                blocks.append((kind, size))
    def plots(kind):
        return ", ".join(f"'{dat}' index {i} using 1:2 with linespoints title '{size}'"
                         for i, (k, size) in enumerate(blocks) if k == kind)
    script = f"""set terminal pngcairo size 900,400
set output '{os.path.join(out_dir, "throughput.png")}'
set multiplot layout 1,2
set ylabel 'Mcells/s'; set grid; set key bottom right; set yrange [0:*]
set title 'throughput against threads'; set xlabel 'threads'; set xtics 1
plot {plots("threads")}
set title 'throughput against tile size'; set xlabel 'resampling.window\\_size'; set logscale x 2; set xtics auto
plot {plots("window_size")}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=False)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--compare":
        print(compare_csv(sys.argv[2], sys.argv[3], sys.argv[4] == "1"))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="small,medium")
    p.add_argument("--grids", default="fine,coarse",
                   help="fine (output-heavy, 0.02 degree), coarse (input-heavy, 0.06 degree), or both")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small only, one run, no scenario sweep")
    p.add_argument("--no-sweep", action="store_true", help="only the default run and the comparisons")
    p.add_argument("--report-only", action="store_true", help="rewrite the table and plot from results.json")
    p.add_argument("--no-compare", action="store_true", help="skip the GDAL command line and xarray routes (the floor still runs)")
    p.add_argument("--append", action="store_true", help="add to results.json instead of starting afresh (e.g. large on its own)")
    p.add_argument("--skip-slow", action="store_true", help="check but do not time the comparisons on grids over 20 M cells")
    p.add_argument("--slow-once", action="store_true",
                   help="on grids over 20 M cells, time the comparisons' checked run only (no warm-up, one run)")
    p.add_argument("--cli", default=os.path.join(ROOT, "build", "rasterflow"))
    p.add_argument("--floor", default=os.path.join(ROOT, "build", "bench", "rasterflow_floor"))
    p.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "results"))
    args = p.parse_args()
    if args.quick:
        args.sizes, args.repeats = "small", 1
    bench = Bench(args)
    if args.report_only:
        with open(os.path.join(args.out, "results.json")) as f:
            bench.results = json.load(f)["results"]
        write_reports(bench, args.out)
        return
    if args.append and os.path.exists(os.path.join(args.out, "results.json")):
        with open(os.path.join(args.out, "results.json")) as f:
            sizes = {s if g == "fine" else f"{s}-{g}" for s in args.sizes.split(",") for g in args.grids.split(",")}
            # With --no-compare, the comparisons of the sizes re-run stay (marked as earlier runs):
            # the other tools' times do not depend on rasterflow's engine, and their outputs were
            # checked against rasterflow's then (a re-run that changes rasterflow's CSV must compare).
            compared = ("GDAL CLI", "rasterio")
            bench.results = [dict(r, earlier_run=True) if r["size"] in sizes else r for r in json.load(f)["results"]
                             if r["size"] not in sizes or (args.no_compare and r["scenario"].startswith(compared))]
    for size in args.sizes.split(","):
        for grid in args.grids.split(","):
            bench.size(size, grid)
            write_reports(bench, args.out)


if __name__ == "__main__":
    main()
