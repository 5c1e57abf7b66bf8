"""The chunk iterator, progress displays and the run summary as Python users read them (#31),
run by CTest with /usr/bin/python3 (each case its own entry, Progress.<name>)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import rasterflow

CLI = os.environ["RASTERFLOW_CLI"]
SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-progress-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def graph(resolution=0.05):
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
    g["grid"]["resolution"] = resolution
    return g


class Progress(unittest.TestCase):
    def test_ChunksLenPlanAndRepr(self):
        for resolution in (0.05, 0.01, 0.003):
            it = rasterflow.chunks(graph(resolution))
            self.assertIsInstance(it, rasterflow.Chunks)
            planned = len(it)
            self.assertEqual(planned, it.plan["tiles"]["count"], resolution)
            self.assertRegex(repr(it), rf"^<rasterflow\.Chunks: {planned} chunks of up to \d+ rows x \d+ cells, "
                                       r"grid EPSG:4326 \d+ x \d+, columns temperature, elevation, landcover; 0 yielded>$")
            yielded = sum(1 for _ in it)
            self.assertEqual(yielded, planned, resolution)
            self.assertEqual(it.count, planned)
            self.assertTrue(repr(it).endswith("; finished>"), repr(it))

    def test_ProgressTrueShowsALine(self):
        # Without tqdm: a plain line on stderr; with it (Debian's python3-tqdm), its bar.
        code = ("import json, sys\n"
                "if sys.argv[2] == 'no-tqdm': sys.modules['tqdm'] = None\n"
                "import rasterflow\n"
                "g = json.loads(sys.argv[1])\n"
                "n = sum(1 for _ in rasterflow.chunks(g, progress=True))\n"
                "df = rasterflow.to_pandas(g, progress=True)\n"
                "ds = rasterflow.to_xarray(g, progress=True)\n"
                "s = rasterflow.run(g, progress=True, output_dir=sys.argv[3], set={'metrics.backend': 'none'})\n"
                "print(n, repr(s))\n")
        for mode in ("no-tqdm", "tqdm"):
            r = subprocess.run([sys.executable, "-c", code, json.dumps(graph()), mode, os.path.join(WORK, mode)],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            n = int(r.stdout.split()[0])
            if mode == "no-tqdm":
                for what in ("chunks", "to_xarray"):
                    self.assertIn(f"rasterflow {what}: {n}/{n} chunks (100%)\n", r.stderr)
                self.assertIn("rasterflow run: 20000/20000 cells (100%)\n", r.stderr)
            else:
                self.assertRegex(r.stderr, rf"rasterflow chunks: 100%\|.*\| {n}/{n}")
                self.assertRegex(r.stderr, r"rasterflow run: 100%\|.*\| 20000/20000")
            self.assertRegex(r.stdout, r"RunSummary\(20,000 rows of 20,000 cells \(200 x 100\) in [0-9.]+ s .*"
                                       r"peak RSS [0-9.]+ MiB \(limit [0-9.]+ [MG]iB\), [0-9.]+ KiB written to ")
        with self.assertRaises(TypeError):
            rasterflow.chunks(graph(), progress="yes")


if __name__ == "__main__":
    unittest.main()
