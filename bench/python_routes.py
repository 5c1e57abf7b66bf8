#!/usr/bin/python3
"""One task, two routes from Python: the sum of every column of the merged table.

    python_routes.py chunks GRAPH.json                    rasterflow.chunks(), each chunk summed with NumPy
    python_routes.py csv GRAPH.json OUT_DIR RASTERFLOW    the command line writes the CSV, pandas reads it
                                                          back (1 M rows at a time) and sums
Prints the sums as JSON (bench/run.py checks that both routes agree). Needs the rasterflow
package on PYTHONPATH (build/python) for the first route, pandas for the second.
"""
import json
import os
import subprocess
import sys

import numpy as np


def chunks_route(graph):
    import rasterflow
    sums, rows = None, 0
    for chunk in rasterflow.chunks(graph):
        if sums is None:
            sums = {k: 0.0 for k in chunk}
        for k, v in chunk.items():
            sums[k] += float(np.nansum(v, dtype=np.float64))
        rows += len(chunk["x"])
    return sums, rows


def csv_route(graph, out_dir, cli):
    import pandas as pd
    subprocess.run([cli, "run", graph, "--output-dir", out_dir, "--log-level", "error", "--set", "metrics.backend=none"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(graph) as f:
        sink = [n for n in json.load(f)["nodes"] if n["type"] == "csv_sink"][0]
    sums, rows = None, 0
    for part in pd.read_csv(os.path.join(out_dir, sink["path"]), chunksize=1_000_000, float_precision="round_trip"):
        if sums is None:
            sums = {k: 0.0 for k in part.columns}
        for k in part.columns:
            sums[k] += float(np.nansum(part[k].to_numpy(dtype=np.float64)))
        rows += len(part)
    return sums, rows


if __name__ == "__main__":
    if sys.argv[1] == "chunks":
        sums, rows = chunks_route(sys.argv[2])
    else:
        sums, rows = csv_route(sys.argv[2], sys.argv[3], sys.argv[4])
    print(json.dumps({"rows": rows, "sums": sums}))
