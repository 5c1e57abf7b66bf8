"""Column types through chunks() and to_pandas() (#31), run by CTest with /usr/bin/python3 (each
case its own entry, Pandas.<name>): integer columns keep their width, as pandas' nullable
integers where cells have no data; floats keep NaN."""
import csv
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import rasterflow

CLI = os.environ["RASTERFLOW_CLI"]
SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-pandas-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def typed_graph():
    """The demo graph with elevation resampled by nearest: Float32, Int16 and Byte columns."""
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
        if n["id"] == "elevation":
            n["method"] = "nearest"
    return g


def cli_rows(g):
    path = os.path.join(WORK, "typed.json")
    with open(path, "w") as f:
        json.dump(g, f)
    out = os.path.join(WORK, "cli")
    r = subprocess.run([CLI, "run", path, "--output-dir", out, "--set", "metrics.backend=none"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    with open(os.path.join(out, "merged.csv"), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


class Pandas(unittest.TestCase):
    def test_ColumnsKeepTheirTypes(self):
        import pandas as pd
        g = typed_graph()
        header, rows = cli_rows(g)
        self.assertEqual(header, ["x", "y", "temperature", "elevation", "landcover"])
        empty = {n: [r[2 + k] == "" for r in rows] for k, n in enumerate(header[2:])}
        self.assertTrue(any(empty["landcover"]) and any(empty["elevation"]), "the sample data has nodata cells")
        df = rasterflow.to_pandas(g)
        self.assertEqual([str(t) for t in df.dtypes], ["float64", "float64", "float32", "Int16", "UInt8"])
        self.assertEqual(len(df), len(rows))
        for k, n in enumerate(header[2:]):
            column = df[n]
            self.assertEqual(list(column.isna()), empty[n], n)
            expected = [r[2 + k] for r in rows if r[2 + k] != ""]
            got = column.dropna().to_numpy()
            if n == "temperature":
                np.testing.assert_array_equal(got, np.array(expected, dtype=np.float64).astype(np.float32))
            else:
                self.assertEqual([str(v) for v in got], expected, n)
        # nullable=False: integer columns as float64 with NaN.
        plain = rasterflow.to_pandas(g, nullable=False)
        self.assertEqual([str(t) for t in plain.dtypes], ["float64", "float64", "float32", "float64", "float64"])
        pd.testing.assert_series_equal(plain["landcover"], df["landcover"].astype("float64"))
        # chunks(masked=True): each column's own NumPy type, masked where the CSV field is empty.
        chunks = list(rasterflow.chunks(g, masked=True))
        self.assertEqual({n: str(chunks[0][n].dtype) for n in header[2:]},
                         {"temperature": "float32", "elevation": "int16", "landcover": "uint8"})
        landcover = np.ma.concatenate([c["landcover"] for c in chunks])
        self.assertEqual(landcover.dtype, np.uint8)
        self.assertEqual(list(np.ma.getmaskarray(landcover)), empty["landcover"])


if __name__ == "__main__":
    unittest.main()
