"""The Python routes side by side (#31): rasterflow.to_pandas, rasterflow.to_xarray and a
chunks() loop against rioxarray's route (reproject_match + xr.merge + to_dataframe) for the same
merge, each in a fresh process: wall time, peak RSS (VmHWM) and the result's size.
  PYTHONPATH=build/python:.deps/python/usr/lib/python3/dist-packages \\
    /usr/bin/python3 bench/python_vs_rioxarray.py DATA_DIR RESOLUTION [BUDGET]
DATA_DIR: `rasterflow sample-data DATA_DIR --size small|medium`. Prints one line per route."""
import json
import subprocess
import sys

ROUTE = r'''
import json, sys, time
data, res, budget, route = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
import numpy as np, pandas as pd, xarray as xr
def hwm():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) * 1024
start_rss = hwm()
t0 = time.monotonic()
size = 0
if route.startswith("rasterflow"):
    import rasterflow
    g = rasterflow.merge_graph({"temperature": (f"{data}/temperature.tif", "average"),
                                "elevation": (f"{data}/elevation.tif", "average"),
                                "landcover": (f"{data}/landcover.tif", "nearest")},
                               crs="EPSG:4326", resolution=res)
    if route == "rasterflow.to_pandas":
        df = rasterflow.to_pandas(g, memory_limit=budget)
        size = int(df.memory_usage(deep=True).sum()); rows = len(df)
    elif route == "rasterflow.to_xarray":
        ds = rasterflow.to_xarray(g, memory_limit=budget)
        size = int(ds.nbytes); rows = ds.sizes["x"] * ds.sizes["y"]
    else:
        rows = 0
        for c in rasterflow.chunks(g, memory_limit=budget):
            rows += len(c["x"])
else:
    import rioxarray
    from rasterio.enums import Resampling
    t = rioxarray.open_rasterio(f"{data}/temperature.tif", masked=True).squeeze("band", drop=True)
    e = rioxarray.open_rasterio(f"{data}/elevation.tif", masked=True).squeeze("band", drop=True)
    l = rioxarray.open_rasterio(f"{data}/landcover.tif", masked=True).squeeze("band", drop=True)
    t2 = t.rio.reproject("EPSG:4326", resolution=res, resampling=Resampling.average)
    merged = xr.merge([t2.rename("temperature"),
                       e.rio.reproject_match(t2, resampling=Resampling.average).rename("elevation"),
                       l.rio.reproject_match(t2, resampling=Resampling.nearest).rename("landcover")])
    df = merged.drop_vars("spatial_ref").to_dataframe().dropna(how="all")
    size = int(df.memory_usage(deep=True).sum()); rows = len(df)
print(json.dumps({"route": route, "seconds": round(time.monotonic() - t0, 2), "rows": rows,
                  "result_mib": round(size / 2**20, 1), "peak_rss_mib": round(hwm() / 2**20, 1),
                  "start_rss_mib": round(start_rss / 2**20, 1)}))
'''


def main():
    data, res = sys.argv[1], sys.argv[2]
    budget = sys.argv[3] if len(sys.argv) > 3 else "256MiB"
    for route in ("rasterflow.to_pandas", "rasterflow.to_xarray", "rasterflow.chunks", "rioxarray"):
        r = subprocess.run([sys.executable, "-c", ROUTE, data, res, budget, route], capture_output=True, text=True)
        if r.returncode != 0:
            print(json.dumps({"route": route, "error": r.stderr.strip().splitlines()[-1]}))
            continue
        print(r.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
