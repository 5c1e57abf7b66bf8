"""The engine's messages through Python's logging (#31), run by CTest with /usr/bin/python3
(each case its own entry, Logging.<name>): logger "rasterflow", standard level names and
numbers, nothing written to file descriptor 2 by the module."""
import json
import logging
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
    WORK = tempfile.mkdtemp(prefix="rasterflow-logging-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)
    # A configuration with a key the engine warns about (read on the calling thread).
    with open(os.path.join(WORK, "old.yml"), "w") as f:
        f.write("export:\n  formats: [csv]\n")


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def graph():
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
    return g


class Logging(unittest.TestCase):
    def tearDown(self):
        rasterflow.set_log_level("WARNING")

    def test_MessagesGoThroughPythonLogging(self):
        old = os.path.join(WORK, "old.yml")
        with self.assertLogs("rasterflow", "WARNING") as logs:
            rasterflow.validate(graph(), config=old)
        self.assertTrue(any(r.levelno == logging.WARNING and 'key "export.formats" is no longer read' in r.getMessage()
                            for r in logs.records), logs.output)
        # DEBUG: the engine threads' messages arrive too (the readers' decoding reports), and
        # run() logs its summary at INFO as the command line does.
        rasterflow.set_log_level("DEBUG")
        self.assertEqual(logging.getLogger("rasterflow").level, logging.DEBUG)
        out = os.path.join(WORK, "out")
        with self.assertLogs("rasterflow", "DEBUG") as logs:
            s = rasterflow.run(graph(), output_dir=out, set={"metrics.backend": "none"})
        self.assertTrue(any(r.levelno == logging.DEBUG for r in logs.records), logs.output)
        self.assertIn(f"run: {s.rows} rows of {s.cells} cells", "\n".join(logs.output))
        with self.assertLogs("rasterflow", "DEBUG") as logs:
            rows = sum(len(c["x"]) for c in rasterflow.chunks(graph()))
        self.assertEqual(rows, s.rows)
        self.assertTrue(any(r.levelno == logging.DEBUG for r in logs.records), logs.output)
        # WARNING (a name or a number): the engine's debug messages are not made at all.
        # (assertNoLogs would lower the logger's level to its own: a handler of every level instead.)
        rasterflow.set_log_level(logging.WARNING)
        seen = []
        handler = logging.Handler(logging.NOTSET)
        handler.emit = seen.append
        logging.getLogger("rasterflow").addHandler(handler)
        try:
            rasterflow.run(graph(), output_dir=out, set={"metrics.backend": "none"})
            rasterflow.validate(graph(), config=old)
        finally:
            logging.getLogger("rasterflow").removeHandler(handler)
        self.assertEqual([r.levelno for r in seen], [logging.WARNING], [r.getMessage() for r in seen])
        for level, number in (("info", 20), ("warn", 30), ("Error", 40), ("CRITICAL", 50), ("trace", 5), (10, 10)):
            rasterflow.set_log_level(level)
            self.assertEqual(logging.getLogger("rasterflow").level, number, level)
        with self.assertRaises(rasterflow.UsageError) as e:
            rasterflow.set_log_level("loud")
        self.assertIn('unknown level "loud"', str(e.exception))

    def test_NothingWrittenToStderr(self):
        # In a process whose logging writes to stdout, the module writes nothing to fd 2 (in
        # Jupyter that would land in the server's terminal), and the warning reaches logging.
        code = ("import logging, sys, rasterflow\n"
                "logging.basicConfig(stream=sys.stdout, format='%(name)s %(levelname)s %(message)s')\n"
                "rasterflow.validate(sys.argv[1], config=sys.argv[2])\n")
        path = os.path.join(WORK, "graph.json")
        with open(path, "w") as f:
            json.dump(graph(), f)
        r = subprocess.run([sys.executable, "-c", code, path, os.path.join(WORK, "old.yml")], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn('rasterflow WARNING ', r.stdout)
        self.assertIn('"export.formats" is no longer read', r.stdout)


if __name__ == "__main__":
    unittest.main()
