#!/usr/bin/python3
"""rasterflow from Python: the demo graph run, streamed, and loaded into pandas and xarray.

After the README's `bash scripts/demo.sh` (which builds rasterflow and writes sample_data/):

    PYTHONPATH=build/python /usr/bin/python3 examples/python_quickstart.py

(after `cmake --install build`, plain `/usr/bin/python3 examples/python_quickstart.py`).
"""
import os
import sys

import numpy as np

import rasterflow

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
graph_file = os.path.join(root, "graphs", "demo.json")
if not os.path.exists(os.path.join(root, "sample_data", "temperature.tif")):
    sys.exit("no sample_data/: run `bash scripts/demo.sh` first (or `build/rasterflow sample-data sample_data`)")

print("rasterflow", rasterflow.__version__)

# 1. What `rasterflow validate` and `rasterflow plan` tell, as Python values.
print("valid:", rasterflow.validate(graph_file))
plan = rasterflow.plan(graph_file)
print("plan: grid", plan["grid"]["width"], "x", plan["grid"]["height"], "in", plan["tiles"]["count"], "tiles")

# 2. `rasterflow run`: the CSV written under output_dir, a summary back.
summary = rasterflow.run(graph_file, output_dir=os.path.join(root, "out", "python"),
                         progress=lambda live: print(f"  {live['cells_done']}/{live['cells_total']} cells"))
print(f"run: {summary.rows} rows in {summary.seconds:.2f} s, peak RSS {summary.peak_rss_bytes / 2**20:.0f} MiB,"
      f" wrote {summary.outputs}, experiment {summary.experiment_id}")

# 3. A table streamed into NumPy, tile by tile in raster order, in bounded memory: the chunks
#    take the place of the graph's sink (nothing is written). A graph can also be a dict, its
#    paths relative to base_dir (or to the current folder).
graph = {
    "name": "quickstart",
    "grid": {"crs": "EPSG:4326", "resolution": 0.05},
    "nodes": [
        {"id": "temperature_src", "type": "raster_source", "path": "sample_data/temperature.tif"},
        {"id": "landcover_src", "type": "raster_source", "path": "sample_data/landcover.tif"},
        {"id": "temperature", "type": "resample", "inputs": ["temperature_src"], "method": "average"},
        {"id": "landcover", "type": "resample", "inputs": ["landcover_src"], "method": "mode"},
        {"id": "merged", "type": "merge", "inputs": ["temperature", "landcover"]},
        {"id": "table", "type": "csv_sink", "inputs": ["merged"], "path": "quickstart.csv"},
    ],
}
total, rows, valued = 0.0, 0, 0
by_class = {}
for chunk in rasterflow.chunks(graph, base_dir=root):
    t, lc = chunk["temperature"], chunk["landcover"]  # NaN where nodata
    total += float(np.nansum(t))
    rows += len(t)
    valued += int(np.count_nonzero(~np.isnan(t)))
    ok = ~np.isnan(t) & ~np.isnan(lc)
    for c in np.unique(lc[ok]):
        by_class.setdefault(int(c), []).append(t[ok][lc[ok] == c])
print(f"chunks: {rows} rows, mean temperature {total / valued:.2f} deg C over the {valued} with one")
for c, parts in sorted(by_class.items()):
    print(f"  land cover class {c}: mean temperature {np.concatenate(parts).mean():.2f} deg C")

# 4. Into pandas and xarray (the whole table in memory: small grids only).
df = rasterflow.to_pandas(graph, base_dir=root)
print(df.describe().loc[["count", "mean"]])
try:
    ds = rasterflow.to_xarray(graph, base_dir=root)
    print(ds)
except ImportError as e:
    print("to_xarray skipped:", e)

# 5. Errors are Python exceptions with the command line's messages.
try:
    rasterflow.validate({"name": "bad", "nodes": [{"id": "a", "type": "rastr_source", "path": "x.tif"}]})
except rasterflow.GraphError as e:  # a ValueError
    print("GraphError:", e)
