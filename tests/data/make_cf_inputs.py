"""CF inputs for tests/nodes/test_cf_metadata.cpp (#30), written with python3-netcdf4, and what
xarray decodes from them (expected.json): the reference for dates, packed values and types.

    /usr/bin/python3 make_cf_inputs.py DIR
"""
import json
import os
import sys

import netCDF4
import numpy as np
import xarray as xr

out = sys.argv[1]
expected = {"calendars": {}, "packed": {}}

# One file per calendar: monthly steps that cross a leap day and a month end in each calendar.
CALENDARS = {
    "standard": ("days since 1850-01-01 00:00:00", [0.0, 59.0, 60.0, 57289.5, 57290.25]),
    "gregorian": ("hours since 1582-10-04 00:00:00", [0.0, 24.0, 48.0, 36.5]),
    "proleptic_gregorian": ("days since 1600-02-28", [0.0, 1.0, 2.0, 365.0]),
    "noleap": ("days since 1850-01-01", [0.0, 58.0, 59.0, 57289.5, 365.0]),
    "365_day": ("hours since 2006-01-01 00:00:00", [12.0, 1428.0, 8748.0]),
    "all_leap": ("days since 2001-02-28", [0.0, 1.0, 2.0, 366.0]),
    "366_day": ("minutes since 2000-12-31 23:00", [60.0, 1500.0]),
    "360_day": ("days since 2000-01-01", [0.0, 29.0, 30.0, 359.5, 360.0, 720.25]),
    "julian": ("days since 1900-02-28", [0.0, 1.0, 2.0, 365.0]),
}


def write_grid(ds, ny=4, nx=5):
    ds.createDimension("lat", ny)
    ds.createDimension("lon", nx)
    lat = ds.createVariable("lat", "f8", ("lat",))
    lat.units = "degrees_north"
    lat.standard_name = "latitude"
    lat[:] = np.array([45.0, 35.0, 25.0, 15.0])[:ny]
    lon = ds.createVariable("lon", "f8", ("lon",))
    lon.units = "degrees_east"
    lon.standard_name = "longitude"
    lon[:] = np.arange(nx) * 10.0 + 5.0


for name, (units, steps) in CALENDARS.items():
    path = os.path.join(out, "cal_%s.nc" % name)
    with netCDF4.Dataset(path, "w") as ds:
        write_grid(ds)
        ds.createDimension("time", len(steps))
        t = ds.createVariable("time", "f8", ("time",))
        t.units = units
        t.calendar = name
        t[:] = steps
        v = ds.createVariable("tas", "f4", ("time", "lat", "lon"))
        v.units = "K"
        v[:] = np.arange(len(steps) * 20, dtype="f4").reshape(len(steps), 4, 5)
    decoded = xr.open_dataset(path, use_cftime=True).time.values
    expected["calendars"][name] = [d.isoformat() for d in decoded]

# Packed Int16 with float32 and with float64 scale factors (CF: the unpacked type is theirs).
for kind in ("f4", "f8"):
    path = os.path.join(out, "packed_%s.nc" % kind)
    with netCDF4.Dataset(path, "w") as ds:
        write_grid(ds)
        v = ds.createVariable("sst", "i2", ("lat", "lon"), fill_value=-32767)
        v.set_auto_maskandscale(False)
        v.scale_factor = np.array(0.01, dtype=kind)
        v.add_offset = np.array(-1.5 if kind == "f8" else 273.15, dtype=kind)
        v.units = "degC" if kind == "f8" else "K"
        v.long_name = "sea surface temperature"
        v.standard_name = "sea_surface_temperature"
        stored = np.array([[-169, 0, 1, 32000, -32767], [-32000, 17, 99, 2500, 3],
                           [-1, 250, 12345, -12345, 777], [5, 6, 7, 8, 9]], dtype="i2")
        v[:] = stored
    da = xr.open_dataset(path).sst
    # CF's rule (the unpacked type is that of scale_factor/add_offset), computed in that type;
    # for float32 factors this is what xarray gives. xarray 2023.01 (Debian 12) masks an int16
    # with a fill value into float32 before it scales, so with float64 factors it gives float32:
    # newer xarray follows CF there (docs/nodes.md says which we follow).
    t = np.dtype(kind).type
    cf = stored.astype(kind) * t(v.scale_factor) + t(v.add_offset)
    expected["packed"][kind] = {
        "xarray_dtype": str(da.dtype),
        "xarray_values": [None if np.isnan(x) else repr(x.item()) for x in da.values.ravel()],
        "cf_values": [None if s == -32767 else repr(x.item()) for s, x in zip(stored.ravel(), cf.ravel())],
    }

# A variable with time and pressure level (ERA-Interim-like geopotential, levels in hPa).
with netCDF4.Dataset(os.path.join(out, "levels.nc"), "w") as ds:
    write_grid(ds)
    ds.createDimension("time", 3)
    ds.createDimension("plev", 2)
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "hours since 2019-01-01 00:00:00"
    t.calendar = "gregorian"
    t[:] = [0.0, 6.0, 24.0]
    p = ds.createVariable("plev", "f8", ("plev",))
    p.units = "hPa"
    p[:] = [500.0, 200.0]
    z = ds.createVariable("z", "f4", ("time", "plev", "lat", "lon"))
    z.units = "m2 s-2"
    z[:] = np.arange(3 * 2 * 20, dtype="f4").reshape(3, 2, 4, 5) * 100.0

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
