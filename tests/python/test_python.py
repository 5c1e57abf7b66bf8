"""The Python bindings against the command line, run by CTest with /usr/bin/python3
(PYTHONPATH: the build tree's python/). Each test is its own CTest entry (Python.<name>).

Sample data: `rasterflow sample-data DIR --size small` in a temporary folder per process.
"""
import csv
import gc
import inspect
import json
import math
import os
import re
import pydoc
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import rasterflow

CLI = os.environ["RASTERFLOW_CLI"]
SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-python-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def graph_dict(resolution=0.05, out="merged.csv", data="data"):
    """The demo graph (graphs/demo.json) on the sample data, its paths relative to WORK."""
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = data + "/" + os.path.basename(n["path"])
        if n["type"] == "csv_sink":
            n["path"] = out
    g["grid"]["resolution"] = resolution
    return g


def write_graph(g, name="graph.json"):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        json.dump(g, f)
    return path


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True)


def cli_error(result):
    """The CLI's error message: its last stderr line without the "[error] " prefix."""
    lines = [l for l in result.stderr.splitlines() if l.startswith("[error] ")]
    return lines[-1][len("[error] "):]


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def thread_count():
    return len(os.listdir("/proc/self/task"))


def threads_back_to(count, timeout=3.0):
    """The process's thread count once it is back to `count` (oneTBB's idle workers leave on
    their own a moment after a run), or what it still is after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while thread_count() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return thread_count()


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(field + " not in /proc/self/status")


class Python(unittest.TestCase):
    def out_dir(self, name):
        d = os.path.join(WORK, name)
        shutil.rmtree(d, ignore_errors=True)
        return d

    def cli_csv(self):
        """The CLI's CSV of the demo graph on the sample data (made once per process)."""
        out = os.path.join(WORK, "cli_out", "merged.csv")
        if not os.path.exists(out):
            r = cli("run", write_graph(graph_dict()), "--output-dir", os.path.join(WORK, "cli_out"),
                    "--set", "metrics.backend=none")
            self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def test_RunOnDictEqualsCliCsv(self):
        expected = open(self.cli_csv(), "rb").read()
        out = self.out_dir("py_out")
        s = rasterflow.run(graph_dict(), output_dir=out, base_dir=WORK)
        got = open(os.path.join(out, "merged.csv"), "rb").read()
        self.assertEqual(got, expected)
        self.assertEqual(s.rows, expected.count(b"\n") - 1)
        self.assertEqual(s.cells, 200 * 100)
        self.assertEqual(s.outputs, [os.path.join(out, "merged.csv")])
        self.assertGreater(s.seconds, 0)
        self.assertGreater(s.peak_rss_bytes, 0)
        self.assertIsInstance(s.throttle_events, list)
        # The experiment is recorded as the CLI records it (SQLite in output_dir by default).
        db = sqlite3.connect(os.path.join(out, "rasterflow_metrics.sqlite"))
        status = db.execute("SELECT status FROM experiments WHERE id = ?", (s.experiment_id,)).fetchone()
        self.assertEqual(status, ("succeeded",))
        self.assertFalse(os.path.exists(os.path.join(out, "merged.csv.partial")))
        # A dict's relative paths resolve against the current folder when base_dir is not given.
        cwd = os.getcwd()
        os.chdir(WORK)
        try:
            out2 = self.out_dir("py_out_cwd")
            rasterflow.run(graph_dict(), output_dir=out2, set={"metrics.backend": "none"})
        finally:
            os.chdir(cwd)
        self.assertEqual(open(os.path.join(out2, "merged.csv"), "rb").read(), expected)
        # A graph file runs the same.
        out3 = self.out_dir("py_out_file")
        rasterflow.run(write_graph(graph_dict()), output_dir=out3, set=["metrics.backend=none"])
        self.assertEqual(open(os.path.join(out3, "merged.csv"), "rb").read(), expected)

    def test_ChunksConcatenatedEqualCsv(self):
        header, rows = read_csv(self.cli_csv())
        names = header[2:]
        chunks = list(rasterflow.chunks(graph_dict(), base_dir=WORK))
        self.assertGreater(len(chunks), 1)
        for c in chunks:
            self.assertEqual(list(c), header)
            self.assertTrue(all(v.ndim == 1 and len(v) == len(c["x"]) for v in c.values()))
        table = {n: np.concatenate([c[n] for c in chunks]) for n in header}
        self.assertEqual(len(table["x"]), len(rows))
        self.assertEqual(table["temperature"].dtype, np.float32)
        self.assertEqual(table["elevation"].dtype, np.float64)
        self.assertEqual(table["landcover"].dtype, np.float64)  # integer with NaN for nodata
        for i, row in enumerate(rows):
            self.assertEqual(table["x"][i], float(row[0]))
            self.assertEqual(table["y"][i], float(row[1]))
            for k, n in enumerate(names):
                text, value = row[2 + k], table[n][i]
                if text == "":
                    self.assertTrue(math.isnan(value), (i, n, value))
                else:
                    self.assertEqual(value, table[n].dtype.type(float(text)), (i, n, text))
        # masked=True: each column's own type, masked where the CSV field is empty.
        masked = list(rasterflow.chunks(graph_dict(), base_dir=WORK, masked=True))
        landcover = np.ma.concatenate([c["landcover"] for c in masked])
        self.assertIsInstance(masked[0]["landcover"], np.ma.MaskedArray)
        self.assertEqual(landcover.dtype, np.uint8)  # the column's own type (Byte)
        self.assertEqual(list(np.ma.getmaskarray(landcover)), [r[4] == "" for r in rows])
        self.assertEqual([str(v) for v in landcover.compressed()], [r[4] for r in rows if r[4] != ""])

    def test_RssStaysWithinBudgetWhileConsumingSlowly(self):
        # 5000 x 2500 cells: the whole table (x, y and three columns, 40 bytes a row) would be
        # ~500 MB; the engine must wait for the loop instead of running ahead.
        limit = 192 << 20
        rows = 0
        peak_seen = 0
        start = time.monotonic()
        # The whole process's limit (process_memory_limit; memory_limit is a budget on top of
        # what the process holds, #31).
        for chunk in rasterflow.chunks(graph_dict(resolution=0.002), base_dir=WORK, process_memory_limit=limit):
            rows += len(chunk["x"])
            peak_seen = max(peak_seen, status_bytes("VmRSS"))
            time.sleep(0.003)
        hwm = status_bytes("VmHWM")
        self.assertEqual(rows, 5000 * 2500)  # drop=all_nodata keeps every cell of the sample data's grid
        self.assertGreater(rows * 40, 2 * limit)
        self.assertLess(hwm, limit, f"peak RSS {hwm / 2**20:.0f} MiB over the {limit / 2**20:.0f} MiB limit")
        print(f"chunks of 12.5 M rows in {time.monotonic() - start:.1f} s: VmHWM {hwm / 2**20:.0f} MiB, "
              f"VmRSS seen up to {peak_seen / 2**20:.0f} MiB (limit {limit / 2**20:.0f} MiB)")
        # The control: with a queue that never fills (prefetch of a million chunks) the engine
        # runs ahead of a loop that stalls 3 s after its first chunk (long enough for the engine
        # to get far even on a busy machine), and the same measure goes over the limit.
        code = ("import json, sys, time, rasterflow\n"
                "g = json.loads(sys.argv[1])\n"
                "for i, c in enumerate(rasterflow.chunks(g, base_dir=sys.argv[2], process_memory_limit=int(sys.argv[3]),\n"
                "                                        prefetch=10**6)):\n"
                "    if i == 0: time.sleep(3)\n"
                "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n")
        r = subprocess.run([sys.executable, "-c", code, json.dumps(graph_dict(resolution=0.002)), WORK, str(limit)],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        unbounded = int(r.stdout.split()[-1]) * 1024
        print(f"control, prefetch=10**6: VmHWM {unbounded / 2**20:.0f} MiB")
        self.assertGreater(unbounded, limit)

    def engine_warm(self):
        # The threads of an idle process after a run (oneTBB's workers leave when idle a while).
        rasterflow.run(graph_dict(), output_dir=self.out_dir("warm"), base_dir=WORK, threads=2,
                       set={"metrics.backend": "none"})
        gc.collect()
        return threads_back_to(1)

    def test_KeyboardInterruptStopsRunLeavingNoOutput(self):
        threads = self.engine_warm()
        out = self.out_dir("interrupted")
        # A run of about 2 s (at 0.002 it took 0.6 s, and once ended before the 0.5 s timer fired).
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        start = time.monotonic()
        with self.assertRaises(KeyboardInterrupt):
            rasterflow.run(graph_dict(resolution=0.001), output_dir=out, base_dir=WORK, threads=2)
        stopped = time.monotonic() - start
        timer.join()
        self.assertLess(stopped, 5.0)
        self.assertFalse(os.path.exists(os.path.join(out, "merged.csv")))
        self.assertFalse(os.path.exists(os.path.join(out, "merged.csv.partial")))
        db = sqlite3.connect(os.path.join(out, "rasterflow_metrics.sqlite"))
        self.assertEqual(db.execute("SELECT status FROM experiments").fetchall(), [("interrupted",)])
        self.assertLessEqual(threads_back_to(threads), threads)

    def test_BreakAndInterruptCancelChunks(self):
        threads = self.engine_warm()
        g = graph_dict(resolution=0.002)
        # Breaking out of the loop: the iterator is freed and the run stops.
        seen = 0
        start = time.monotonic()
        for chunk in rasterflow.chunks(g, base_dir=WORK, threads=2):
            seen += 1
            if seen == 3:
                break
        # No gc.collect(): the loop's iterator is freed at once, and its run stopped.
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertLessEqual(threads_back_to(threads), threads)
        # close() and the with block, with a reference still held.
        with rasterflow.chunks(g, base_dir=WORK, threads=2) as it:
            next(it)
        self.assertLessEqual(threads_back_to(threads), threads)
        with self.assertRaises(StopIteration):
            next(it)
        # Ctrl-C while the loop consumes slowly.
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with self.assertRaises(KeyboardInterrupt):
            for chunk in rasterflow.chunks(g, base_dir=WORK, threads=2):
                time.sleep(0.05)
        timer.join()
        gc.collect()
        self.assertLessEqual(threads_back_to(threads), threads)
        # Nothing was written by the graph's sink.
        self.assertFalse(os.path.exists("merged.csv") or os.path.exists("merged.csv.partial"))

    def test_ErrorsMapToExceptionsWithCliMessages(self):
        # A graph error: GraphError, a ValueError, with the CLI's message.
        bad = graph_dict()
        bad["nodes"][3]["type"] = "resampel"
        path = write_graph(bad, "bad_graph.json")
        with self.assertRaises(rasterflow.GraphError) as e:
            rasterflow.validate(path)
        self.assertIsInstance(e.exception, ValueError)
        self.assertIsInstance(e.exception, rasterflow.UsageError)
        self.assertEqual(str(e.exception), cli_error(cli("validate", path)))
        self.assertIn('did you mean "resample"', str(e.exception))
        with self.assertRaises(rasterflow.GraphError) as e:
            rasterflow.run(bad, base_dir=WORK, output_dir=self.out_dir("bad"))
        self.assertIn('<dict>: node "temperature": field "type": unknown node type "resampel"', str(e.exception))
        # A configuration error: ConfigError, a ValueError.
        good = write_graph(graph_dict())
        with self.assertRaises(rasterflow.ConfigError) as e:
            rasterflow.run(good, set={"merge.chunk_size": 0}, output_dir=self.out_dir("bad"))
        self.assertIsInstance(e.exception, ValueError)
        self.assertEqual(str(e.exception),
                         cli_error(cli("run", good, "--set", "merge.chunk_size=0", "--output-dir",
                                       self.out_dir("bad"))))
        with self.assertRaises(rasterflow.UsageError):
            rasterflow.run(good, memory_limit="lots", output_dir=self.out_dir("bad"))
        with self.assertRaises(ValueError):
            rasterflow.plan(good, threads=0)
        with self.assertRaises(TypeError):
            rasterflow.run(42)
        # A failure while running (a truncated GeoTIFF): IoError, a RunError and a RuntimeError,
        # with the CLI's message, and no output under its final name.
        trunc = os.path.join(WORK, "trunc")
        shutil.copytree(os.path.join(WORK, "data"), trunc, dirs_exist_ok=True)
        tif = os.path.join(trunc, "temperature.tif")
        os.truncate(tif, int(os.path.getsize(tif) * 0.6))
        g = graph_dict(data="trunc")
        for n in g["nodes"]:
            # One decoding strategy on both sides: the fastest that fits depends on the memory
            # budget, and each strategy meets the damage through its own libtiff call and message.
            if n["type"] == "raster_source":
                n["decoding"] = "gdal_cache"
        path = write_graph(g, "trunc_graph.json")
        out = self.out_dir("failed")
        # One thread on both sides: with more, which damaged block fails first may differ.
        with self.assertRaises(rasterflow.RunError) as e:
            rasterflow.run(path, output_dir=out, threads=1, set={"metrics.backend": "none"})
        self.assertIsInstance(e.exception, RuntimeError)
        self.assertIsInstance(e.exception, rasterflow.IoError)
        r = cli("run", path, "--output-dir", self.out_dir("failed_cli"), "--threads", "1", "--set",
                "metrics.backend=none")
        self.assertEqual(r.returncode, 1)
        # The same message but for which damaged tile and block row failed first: with tiles in
        # flight, a loaded machine may finish a later one first (seen in the venv runs). libtiff's
        # own "col" in its read error is its last-read state, 4294967295 when the handle has not
        # read a strip yet (seen in CI's venv-wheel run), so it is not compared either.
        def any_rows(text):
            return re.sub(r"col \d+", "col N", re.sub(r"rows? \d+(-\d+)?", "rows N", text))
        self.assertRegex(str(e.exception), r"rows \d+-\d+")
        self.assertEqual(any_rows(str(e.exception)), any_rows(cli_error(r)))
        self.assertEqual(os.listdir(out), [])
        # The same failure from the chunk stream is raised by the loop.
        with self.assertRaises(rasterflow.RunError):
            for _ in rasterflow.chunks(path):
                pass

    def test_ToPandasAndToXarrayMatchCsv(self):
        import pandas as pd
        header, rows = read_csv(self.cli_csv())
        csv_df = pd.read_csv(self.cli_csv(), float_precision="round_trip")
        df = rasterflow.to_pandas(graph_dict(), base_dir=WORK)
        self.assertEqual(list(df.columns), header)
        self.assertEqual(len(df), len(rows))
        for n in header:
            expected = csv_df[n].to_numpy(dtype=np.float64)
            got = df[n].to_numpy()
            if df[n].dtype == "UInt8":  # landcover: pandas' nullable UInt8, <NA> for nodata
                got = df[n].astype("float64").to_numpy()
            if got.dtype == np.float32:
                expected = expected.astype(np.float32)
            np.testing.assert_array_equal(got, expected, err_msg=n)
        try:
            import xarray  # noqa: F401
        except ImportError:
            self.skipTest("xarray is not installed (Debian: python3-xarray)")
        ds = rasterflow.to_xarray(graph_dict(), base_dir=WORK)
        self.assertEqual(dict(ds.sizes), {"y": 100, "x": 200})
        self.assertEqual(list(ds.data_vars), header[2:])
        # The CSV's centres, placed on the grid by its transform (the Dataset's coordinates are
        # rioxarray's, computed from the transform, not parsed from the CSV's text).
        x0, res_x, _, y0, _, res_y = (float(v) for v in ds["spatial_ref"].attrs["GeoTransform"].split())
        kept = np.zeros((100, 200), dtype=bool)
        for _, r in csv_df.iterrows():
            row, col = int((r["y"] - y0) / res_y), int((r["x"] - x0) / res_x)
            self.assertLess(abs(ds["x"].values[col] - r["x"]), 1e-9)
            self.assertLess(abs(ds["y"].values[row] - r["y"]), 1e-9)
            kept[row, col] = True
            for n in header[2:]:
                value = ds[n].values[row, col]
                expected = value.dtype.type(r[n]) if not math.isnan(r[n]) else np.nan
                np.testing.assert_array_equal(value, expected, err_msg=n)
        for n in header[2:]:  # the cells the merge dropped are NaN in every variable
            self.assertTrue(np.isnan(ds[n].values[~kept]).all())
        # A grid too large for the memory limit is refused, before anything is held.
        with self.assertRaises(rasterflow.UsageError) as e:
            rasterflow.to_xarray(graph_dict(resolution=0.001), base_dir=WORK, memory_limit="512MiB")
        # float32 for the Float32 and Byte columns, float64 for the averaged elevation: 16 bytes a cell.
        self.assertIn("to_xarray: the grid of 10000 x 5000 cells with 3 columns needs 763 MiB", str(e.exception))
        self.assertIn("rasterflow.chunks()", str(e.exception))

    def test_ToParquetMatchesCsv(self):
        # to_parquet through parquet_sink; the file read back by DuckDB and Arrow's Rust reader
        # (tests/parquet/check_parquet.mjs, the readers the fixture Parquet.InstallReaders installs).
        out = os.path.join(WORK, "to_parquet", "merged.parquet")
        summary = rasterflow.to_parquet(graph_dict(), out, base_dir=WORK, row_group_size=7000,
                                        set={"metrics.backend": "none"})
        self.assertEqual(summary.outputs, [out])
        self.assertFalse(os.path.exists(out + ".partial"))
        spec = os.path.join(WORK, "to_parquet", "spec.json")
        with open(spec, "w") as f:
            json.dump({"types": {"x": ["DOUBLE", "Float64"], "y": ["DOUBLE", "Float64"],
                                 "temperature": ["FLOAT", "Float32"], "elevation": ["DOUBLE", "Float64"],
                                 "landcover": ["UTINYINT", "Uint8"]},
                       "row_groups": [7000, 7000, 6000], "kv": ["rasterflow.version"]}, f)
        readers = os.path.join(os.environ["RASTERFLOW_BINARY_DIR"], "tests", "parquet_readers")
        r = subprocess.run(["node", os.path.join(SOURCE_DIR, "tests", "parquet", "check_parquet.mjs"), readers, out,
                            self.cli_csv(), spec], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # parquet_sink's options are checked before anything runs, naming the node and option.
        with self.assertRaises(rasterflow.UsageError) as e:
            rasterflow.to_parquet(graph_dict(), os.path.join(WORK, "to_parquet", "bad.parquet"), base_dir=WORK,
                                  compression="lz4")
        self.assertIn('node "parquet" (parquet_sink): option "compression": unknown value "lz4"', str(e.exception))
        self.assertFalse(os.path.exists(os.path.join(WORK, "to_parquet", "bad.parquet")))

    def test_WideIntegersKeepEveryDigit(self):
        # Int64 and UInt64 beyond 2^53 (#29): masked=True gives int64/uint64 arrays, every digit;
        # masked=False (float64 with NaN) refuses a value a double does not hold, naming it.
        from osgeo import gdal, osr
        gdal.UseExceptions()
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        big = {"s": np.array([[2**60 + 1, -2**60 - 3, 2**62 + 7], [-2**63, 5, 2**53 + 1]], dtype=np.int64),
               "u": np.array([[2**64 - 2, 2**63 + 5, 2**60 + 1], [2**64 - 1, 7, 2**53 + 1]], dtype=np.uint64)}
        nodes = []
        for name, values in big.items():
            ds = gdal.GetDriverByName("GTiff").Create(os.path.join(WORK, name + "64.tif"), 3, 2, 1,
                                                      gdal.GDT_Int64 if name == "s" else gdal.GDT_UInt64)
            ds.SetGeoTransform([10, 1, 0, 50, 0, -1])
            ds.SetSpatialRef(srs)
            ds.GetRasterBand(1).WriteArray(values)
            if name == "s":
                ds.GetRasterBand(1).SetNoDataValue(-2**63)
            else:
                ds.GetRasterBand(1).SetNoDataValue(2**64 - 1)
            ds = None
            nodes += [{"id": name + "_src", "type": "raster_source", "path": name + "64.tif"},
                      {"id": name, "type": "resample", "inputs": [name + "_src"], "method": "nearest"}]
        g = {"grid": {"resolution": 1}, "nodes": nodes + [
            {"id": "m", "type": "merge", "inputs": ["s", "u"], "drop": "none"},
            {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "wide.csv"}]}
        chunks = list(rasterflow.chunks(g, base_dir=WORK, masked=True))
        for name, values in big.items():
            got = np.ma.concatenate([c[name] for c in chunks])
            self.assertEqual(got.dtype, values.dtype)
            nodata = values.flatten() == (np.int64(-2**63) if name == "s" else np.uint64(2**64 - 1))
            self.assertEqual(list(np.ma.getmaskarray(got)), list(nodata))
            self.assertEqual([int(v) for v in got.compressed()], [int(v) for v in values.flatten()[~nodata]])
        with self.assertRaises(rasterflow.Error) as e:
            list(rasterflow.chunks(g, base_dir=WORK))
        self.assertIn('column "s" holds 1152921504606846977 (grid row 0), beyond 2^53', str(e.exception))

    def test_PlanReturnsTheJsonPlan(self):
        path = write_graph(graph_dict())
        got = rasterflow.plan(path)
        r = cli("plan", path, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = json.loads(r.stdout)
        self.assertEqual(set(got), set(expected))
        # Everything but the memory figures that depend on the process's own RSS.
        for key in expected:
            if key != "memory":
                self.assertEqual(got[key], expected[key], key)
        self.assertEqual(set(got["memory"]), set(expected["memory"]))
        self.assertIn("grid: EPSG:4326, 200 x 100 cells", rasterflow.plan(path, format="text"))
        self.assertEqual(rasterflow.validate(path), {"nodes": 8, "grid_width": 200, "grid_height": 100})

    def test_ProgressHelpAndVersion(self):
        calls = []
        start = time.monotonic()
        s = rasterflow.run(graph_dict(resolution=0.004), base_dir=WORK, output_dir=self.out_dir("progress"),
                           progress=lambda live: calls.append((time.monotonic(), live)),
                           set={"metrics.backend": "none"})
        seconds = time.monotonic() - start
        self.assertGreaterEqual(len(calls), 1)
        self.assertLessEqual(len(calls), 4 * seconds + 2)
        gaps = [b[0] - a[0] for a, b in zip(calls[:-1], calls[1:-1])]
        self.assertTrue(all(g >= 0.2 for g in gaps), gaps)
        self.assertEqual(calls[-1][1]["cells_done"], s.cells)
        self.assertEqual(set(calls[-1][1]), {"cells_done", "cells_total", "rows_written", "level", "window_size",
                                             "tiles_in_flight", "seconds"})
        # A progress callable that raises stops the run and its exception propagates.
        def fail(live):
            raise ZeroDivisionError("stop")
        out = self.out_dir("progress_fail")
        with self.assertRaises(ZeroDivisionError):
            rasterflow.run(graph_dict(resolution=0.002), base_dir=WORK, output_dir=out, progress=fail)
        self.assertFalse(os.path.exists(os.path.join(out, "merged.csv")))
        # Every argument is documented.
        for f in (rasterflow.run, rasterflow.validate, rasterflow.plan, rasterflow.chunks, rasterflow.to_pandas,
                  rasterflow.to_xarray):
            text = pydoc.render_doc(f)
            for name in inspect.signature(f).parameters:
                self.assertIn(f"    {name}:", text, f"{f.__name__}: {name} undocumented")
        self.assertEqual("rasterflow " + rasterflow.__version__, cli("--version").stdout.strip())

    def test_RunFlagsHelpIsTheCommandLines(self):
        # #27: each run flag is declared once (app/run_request.cpp): `rasterflow run --help`
        # and help(rasterflow.run) print the same help text for it, and run() takes every flag
        # the table gives Python.
        def words(text):
            return " ".join(text.split())
        cli_help = words(cli("run", "--help").stdout)
        py_help = words(pydoc.render_doc(rasterflow.run))
        params = inspect.signature(rasterflow.run).parameters
        flags = rasterflow._core.run_flags()
        shared = [f for f in flags if f["fronts"] == "both"]
        self.assertGreaterEqual(len(shared), 9)
        for f in flags:
            if f["fronts"] != "cli":
                self.assertIn(f["name"], params, f["name"])
                self.assertIn(f"{f['name']}: {words(f['help'])}", py_help.replace("True: ", ""), f["name"])
            if f["fronts"] != "python":
                self.assertRegex(cli_help, re.escape(f["cli"]) + r"( [A-Z:\[\]0-9 ,.{}a-z-]*?)? " +
                                 re.escape(words(f["help"])), f["cli"])
            if f["negation"]:
                self.assertIn(f"{words(f['negation_help'])} ({f['negation']})", py_help)
                self.assertIn(f"{f['negation']} {words(f['negation_help'])}", cli_help)
        # The request the front ends fill: a property per Python flag, the command line's defaults.
        r = rasterflow._core.RunRequest()
        self.assertEqual((r.output_dir, r.threads, r.streaming), (".", 0, -1))
        with self.assertRaises(TypeError):
            r.threads = "two"
        # RunSummary is the engine's, its figures read as before #27.
        self.assertIs(rasterflow.RunSummary, rasterflow._core.RunSummary)

    def test_InstalledPackageRuns(self):
        # `cmake --install` into a prefix: the package lands in the prefix's
        # lib/python3.X/dist-packages (for /usr/local, a folder Debian's python3 searches) and
        # runs from there, finding the engine's libraries by its RUNPATH.
        prefix = os.path.join(WORK, "prefix")
        r = subprocess.run([os.environ["CMAKE_COMMAND"], "--install", os.environ["RASTERFLOW_BINARY_DIR"],
                            "--prefix", prefix], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        site = os.path.join(prefix, "lib", "python%d.%d" % sys.version_info[:2], "dist-packages")
        code = ("import rasterflow, sys; print(rasterflow.__file__); "
                "print(rasterflow.validate(sys.argv[1])['nodes'])")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = site
        r = subprocess.run([sys.executable, "-c", code, write_graph(graph_dict())], capture_output=True, text=True,
                           env=env, cwd=WORK)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [os.path.join(site, "rasterflow", "__init__.py"), "8"])

    def test_GilIsReleasedWhileTheEngineRuns(self):
        # A Python thread keeps counting while run() and a chunk stream work: the calling thread
        # waits without the GIL (it takes it back only to check signals, every 100 ms).
        ticks = []
        stop = threading.Event()

        def count():
            while not stop.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.001)

        counter = threading.Thread(target=count)
        counter.start()
        try:
            start = time.monotonic()
            rasterflow.run(graph_dict(resolution=0.002), base_dir=WORK, output_dir=self.out_dir("gil"),
                           set={"metrics.backend": "none"})
            end = time.monotonic()
        finally:
            stop.set()
            counter.join()
        during = [t for t in ticks if start < t < end]
        self.assertGreater(end - start, 0.3)
        # At 1 ms a tick, a free thread ticks hundreds of times a second; with the GIL held by the
        # run it could tick at most once per 100 ms poll (10 a second).
        self.assertGreater(len(during), 50 * (end - start), f"{len(during)} ticks in {end - start:.2f} s")

    def test_ExampleQuickstartRuns(self):
        # examples/python_quickstart.py as a new user runs it, in a copy of the repository's
        # layout (graphs/demo.json, sample_data/ as scripts/demo.sh writes it).
        root = os.path.join(WORK, "repo")
        os.makedirs(os.path.join(root, "examples"), exist_ok=True)
        os.makedirs(os.path.join(root, "graphs"), exist_ok=True)
        shutil.copy(os.path.join(SOURCE_DIR, "examples", "python_quickstart.py"), os.path.join(root, "examples"))
        shutil.copy(os.path.join(SOURCE_DIR, "graphs", "demo.json"), os.path.join(root, "graphs"))
        shutil.copytree(os.path.join(WORK, "data"), os.path.join(root, "sample_data"), dirs_exist_ok=True)
        r = subprocess.run([sys.executable, os.path.join(root, "examples", "python_quickstart.py")],
                           capture_output=True, text=True, cwd=WORK)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("run: 20000 rows", r.stdout)
        self.assertIn("chunks: 20000 rows", r.stdout)
        self.assertIn("GraphError: <dict>: node \"a\"", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(root, "out", "python", "merged.csv")))


if __name__ == "__main__":
    unittest.main()
