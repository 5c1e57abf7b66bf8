"""What xarray's open_dataset gives back from a rasterflow NetCDF or Zarr output (#30), as JSON:
each data variable's dimensions, dtype, attributes, fill value and values; the coordinates;
decoded times as ISO text.

    /usr/bin/python3 read_cf_output.py FILE [engine]
"""
import json
import sys

import numpy as np
import xarray as xr

path = sys.argv[1]
engine = sys.argv[2] if len(sys.argv) > 2 else None
ds = xr.open_dataset(path, engine=engine, use_cftime=True)
out = {"variables": {}, "coords": {}}
for name, da in ds.data_vars.items():
    if da.dtype.kind in "SU" or da.ndim == 0:
        out.setdefault("scalars", []).append(name)
        continue
    values = da.values.ravel()
    out["variables"][name] = {
        "dims": list(da.dims),
        "dtype": str(da.dtype),
        "attrs": {k: str(v) for k, v in da.attrs.items()},
        "fill": None if "_FillValue" not in da.encoding else repr(np.asarray(da.encoding["_FillValue"]).item()),
        "values": [None if (da.dtype.kind == "f" and np.isnan(v)) else repr(v.item()) for v in values],
        # netCDF4's filters as xarray's encoding reports them (absent for other engines).
        "compression": {k: str(da.encoding[k]) for k in ("zlib", "shuffle", "complevel") if k in da.encoding},
    }
for name, c in ds.coords.items():
    if name == "time":
        out["coords"][name] = [t.isoformat() for t in c.values]
    else:
        out["coords"][name] = [repr(v.item()) for v in c.values.ravel()]
print(json.dumps(out))
