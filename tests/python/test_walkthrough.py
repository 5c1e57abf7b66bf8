"""docs/python.md's notebook walkthrough, every cell run as written (#31), by CTest with
/usr/bin/python3 (Walkthrough.CellsRunAsWritten): cell 1 (shell) creates a virtual environment
and pip-installs the package into it, with its placeholder paths replaced by temporary ones
(the build folder reused through RASTERFLOW_CMAKE_BUILD_DIR); the other cells run in that
environment's Python, one namespace, as a notebook kernel runs them (a cell's last expression is
displayed, `!` lines go to the shell); then what the comments claim is checked."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
BINARY_DIR = os.environ["RASTERFLOW_BINARY_DIR"]
CLI = os.environ["RASTERFLOW_CLI"]


def walkthrough_cells():
    """The code blocks of docs/python.md's "A notebook walkthrough" section, in order: each a
    (title, code) pair, the title the bold "**N. ...**" that precedes it."""
    with open(os.path.join(SOURCE_DIR, "docs", "python.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## A notebook walkthrough", 1)[1].split("\n## ", 1)[0]
    cells, title, block = [], None, []
    for line in section.splitlines() + ["(end)"]:
        if line.startswith("    "):
            block.append(line[4:])
            continue
        if block and line.strip() == "":
            block.append("")
            continue
        if block:
            cells.append((title, "\n".join(block).rstrip() + "\n"))
            block = []
        m = re.match(r"\*\*(\d+\. [^*]+)\*\*", line)
        if m:
            title = m.group(1)
    return cells


# Runs the Python cells as a kernel does, then prints what the checks read, as JSON.
RUNNER = r'''
import ast, json, subprocess, sys
cells = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__"}
shown = []
for title, code in cells:
    lines = []
    for line in code.splitlines():  # Jupyter's `!command`
        stripped = line.lstrip()
        if stripped.startswith("!"):
            indent = line[:len(line) - len(stripped)]
            command = stripped[1:].split("#")[0].strip()
            lines.append(f"{indent}__shell__.append(__import__('subprocess').run({command!r}, shell=True, check=True, "
                         "capture_output=True, text=True).stdout)")
        else:
            lines.append(line)
    ns.setdefault("__shell__", [])
    tree = ast.parse("\n".join(lines))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, title, "exec"), ns)
    value = eval(compile(ast.Expression(last.value), title, "eval"), ns) if last is not None else None
    shown.append(None if value is None else repr(value))
import numpy as np
out = {
    "shown": shown,
    "shell": ns["__shell__"],
    "chunks_repr": repr(ns["it"]),
    "chunks_len": len(ns["it"]),
    "coef": [float(c) for c in ns["model"].coef_],
    "dtypes": {k: str(v) for k, v in ns["df"].dtypes.items()},
    "ds_sizes": dict(ns["ds"].sizes),
    "joined_sizes": dict(ns["joined"].sizes),
    "warm_high_shape": list(ns["warm_high"].shape),
    "warm_high_count": int(ns["warm_high"].notnull().sum()),
    "template_sizes": {k: ns["template"].sizes[k] for k in ("y", "x")},
    "on_template_x_equal": bool((ns["on_template"].x.values == ns["template"].x.values).all()),
    "module": ns["rasterflow"].__file__,
}
print("WALKTHROUGH " + json.dumps(out))
'''


class Walkthrough(unittest.TestCase):
    def test_CellsRunAsWritten(self):
        cells = walkthrough_cells()
        titles = [t for t, _ in cells]
        numbers = [int(t.split(".")[0]) for t in titles]  # a step may have several cells
        self.assertEqual(sorted(set(numbers)), list(range(1, max(numbers) + 1)), titles)
        self.assertEqual(numbers, sorted(numbers), titles)
        with tempfile.TemporaryDirectory(prefix="rasterflow-walkthrough-") as work:
            venv = os.path.join(work, "venvs", "geo")
            install = cells[0][1].replace("~/venvs/geo", venv).replace("/path/to/rasterflow", SOURCE_DIR)
            self.assertIn("pip install", install)
            env = dict(os.environ, RASTERFLOW_CMAKE_BUILD_DIR=BINARY_DIR, PIP_NO_INDEX="1",
                       PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
            # `python3` is the Python the package is built for (this one), whatever else is on PATH.
            bin_dir = os.path.join(work, "bin")
            os.makedirs(bin_dir)
            os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
            # The package comes from the environment only: the build tree is off the path.
            env["PYTHONPATH"] = os.path.join(SOURCE_DIR, ".deps", "python", "usr", "lib", "python3", "dist-packages")
            subprocess.run(["bash", "-euc", install], check=True, env=env, cwd=work)
            subprocess.run([CLI, "sample-data", os.path.join(work, "data")], check=True, stdout=subprocess.DEVNULL)
            cells_file = os.path.join(work, "cells.json")
            with open(cells_file, "w") as f:
                json.dump(cells[1:], f)
            runner = os.path.join(work, "runner.py")
            with open(runner, "w") as f:
                f.write(RUNNER)
            r = subprocess.run([os.path.join(venv, "bin", "python"), runner, cells_file], cwd=work, capture_output=True,
                               text=True, env=dict(env, MPLBACKEND="Agg"))
            self.assertEqual(r.returncode, 0, r.stderr[-4000:])
            out = json.loads(r.stdout.split("WALKTHROUGH ", 1)[1])
            self.assertTrue(out["module"].startswith(venv + os.sep), out["module"])
            # What each step displays: the last cell of the step whose last line is an expression.
            shown = {}
            for number, value in zip(numbers[1:], out["shown"]):
                if value is not None:
                    shown[number] = value
            self.check(out, shown, work)

    def check(self, out, shown, work):
        # 2: the plan's text, with the grid of the walkthrough (0.01 degrees over the sample data).
        self.assertIn("grid: EPSG:4326, 1000 x 500 cells", shown[2])
        # 3: the iterator's repr as the comment shows it, and a model fitted on the chunks.
        self.assertRegex(shown[3], r"^<rasterflow.Chunks: \d+ chunks of up to \d+ rows x 1000 cells, grid "
                                          r"EPSG:4326 1000 x 500")
        self.assertTrue(out["chunks_repr"].endswith("finished>"), out["chunks_repr"])
        self.assertEqual(len(out["coef"]), 2)
        self.assertTrue(all(abs(c) < 100 for c in out["coef"]), out["coef"])  # finite, not diverged
        # 4: types kept; the groupby displayed a Series.
        self.assertEqual(out["dtypes"]["temperature"], "float32")
        self.assertEqual(out["dtypes"]["landcover"], "UInt8")
        self.assertIn("landcover", shown[4])
        # 5: the join keeps the grid's 500 x 1000.
        self.assertEqual(out["ds_sizes"], {"y": 500, "x": 1000})
        self.assertEqual(out["joined_sizes"], {"y": 500, "x": 1000})
        self.assertEqual(out["warm_high_shape"], [500, 1000])
        self.assertGreater(out["warm_high_count"], 0)
        # 6: like= a template off the lattice: its shape, its coordinates.
        self.assertEqual(out["template_sizes"], {"y": 200, "x": 300})
        self.assertIn("200", shown[6])
        self.assertIn("300", shown[6])
        self.assertTrue(out["on_template_x_equal"])
        # 7: the plot file.
        self.assertGreater(os.path.getsize(os.path.join(work, "temperature.png")), 10000)
        # 8: gdalinfo of the NetCDF variable.
        info = out["shell"][-1]
        self.assertIn('ID["EPSG",4326]', info)
        self.assertIn("Origin = (0.000000000000000,45.000000000000000)", info)
        self.assertIn("Pixel Size = (0.010000000000000,-0.010000000000000)", info)


if __name__ == "__main__":
    unittest.main()
