"""memory_limit as rasterflow's own budget (#31), run by CTest with /usr/bin/python3 (each case
its own entry, Memory.<name>): a process already holding more than the budget still runs, the
whole-process view stays available as process_memory_limit."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CLI = os.environ["RASTERFLOW_CLI"]
SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-memory-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


# A process holding 600 MiB (a NumPy array it has written) streams the merge with a 256 MiB budget.
CODE = """
import json, sys
import numpy as np
import rasterflow
held = np.ones(600 << 17)  # 600 MiB of float64, written
g = json.loads(sys.argv[1])
kind = sys.argv[2]
try:
    it = rasterflow.chunks(g, **{kind: "256MiB"})
    rows = sum(len(c["x"]) for c in it)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
    print("rows", rows, "hwm_mib", int(hwm) // 1024, "held", held.sum() > 0)
except rasterflow.ConfigError as e:
    print("ConfigError", e)
"""


class Memory(unittest.TestCase):
    def test_MemoryLimitIsRasterflowsOwnBudget(self):
        with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
            g = json.load(f)
        for n in g["nodes"]:
            if n["type"] == "raster_source":
                n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
        g["grid"]["resolution"] = 0.005
        runs = {}
        for kind in ("memory_limit", "process_memory_limit"):
            r = subprocess.run([sys.executable, "-c", CODE, json.dumps(g), kind], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            runs[kind] = r.stdout
        words = runs["memory_limit"].split()
        self.assertEqual(words[:2], ["rows", str(2000 * 1000)], runs["memory_limit"])
        # Peak: the 600 MiB held, Python and NumPy, and at most the 256 MiB budget.
        self.assertLess(int(words[3]), 600 + 256 + 150, runs["memory_limit"])
        # The whole-process view refuses, as the command line's --memory-limit would.
        self.assertIn("ConfigError memory.limit: 256.0 MiB is too small for this graph: the process already uses",
                      runs["process_memory_limit"])


if __name__ == "__main__":
    unittest.main()
