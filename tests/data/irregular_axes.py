"""Irregular latitude axes for tests/nodes/test_irregular_axes.cpp (#28), with python3-netcdf4 and
xarray.

    /usr/bin/python3 irregular_axes.py write DIR
        gauss.nc: a T42-like Gaussian grid (64 Gaussian latitudes, north first, 128 longitudes);
        mild.nc: latitudes within 0.04 degree of even (GDAL places them on an even spacing).
    /usr/bin/python3 irregular_axes.py grib DIR
        gauss.grib2 (ecCodes' regular Gaussian N32 sample, its values set with grib_filter) and
        reduced.grib2 (ecCodes' reduced Gaussian N48 sample).
    /usr/bin/python3 irregular_axes.py checkgrib FILE.grib2 OUT.csv
        compares rasterflow's nearest with the value GDAL reads at the pixel of the nearest true
        Gaussian latitude (numpy's Legendre roots) and longitude; prints "valid N mismatches M".
    /usr/bin/python3 irregular_axes.py check FILE.nc OUT.csv METHOD
        compares rasterflow's CSV with xarray on the same cell centres: sel(method="nearest") for
        nearest; for bilinear, linear interpolation in longitude then latitude over xarray's
        values (what xarray's interp gives; done with numpy, as scipy is not installed), for
        cells between the first and last rows and columns; prints "valid N mismatches M".
"""
import sys

import netCDF4
import numpy as np
import xarray as xr


def write(path, lats, lons):
    ds = netCDF4.Dataset(path, "w")
    ds.createDimension("lat", len(lats))
    ds.createDimension("lon", len(lons))
    a = ds.createVariable("lat", "f8", ("lat",))
    a.units = "degrees_north"
    a.standard_name = "latitude"
    a[:] = lats
    b = ds.createVariable("lon", "f8", ("lon",))
    b.units = "degrees_east"
    b.standard_name = "longitude"
    b[:] = lons
    t = ds.createVariable("t", "f4", ("lat", "lon"))
    j, i = np.meshgrid(np.arange(len(lons)), np.arange(len(lats)))
    t[:] = (250 + 0.7 * i + 3 * np.sin(0.2 * j) + 0.01 * i * j).astype("f4")
    ds.close()


SAMPLES = "/usr/share/eccodes/samples/"
if sys.argv[1] == "grib":
    import shutil
    import subprocess
    out = sys.argv[2]
    j, i = np.meshgrid(np.arange(128), np.arange(64))
    values = 250 + 0.7 * i + 3 * np.sin(0.2 * j) + 0.01 * i * j
    with open(out + "/rules", "w") as f:
        f.write("set values = {" + ",".join("%.4f" % v for v in values.ravel()) + "};\nwrite;\n")
    subprocess.run(["grib_filter", "-o", out + "/gauss.grib2", out + "/rules", SAMPLES + "regular_gg_sfc_grib2.tmpl"],
                   check=True)
    shutil.copy(SAMPLES + "gg_sfc_grib2.tmpl", out + "/reduced.grib2")
    sys.exit(0)

if sys.argv[1] == "checkgrib":
    from osgeo import gdal
    ds = gdal.Open(sys.argv[2])
    a, gt = ds.ReadAsArray(), ds.GetGeoTransform()
    x, _ = np.polynomial.legendre.leggauss(ds.RasterYSize)
    lats = np.degrees(np.arcsin(x))[::-1]
    lons = gt[0] + (np.arange(ds.RasterXSize) + 0.5) * gt[1]
    valid = mismatches = 0
    for line in open(sys.argv[3]).read().splitlines()[1:]:
        xs, ys, v = line.split(",")
        if v == "":
            continue
        valid += 1
        r, c = np.argmin(np.abs(lats - float(ys))), np.argmin(np.abs(lons - float(xs)))
        mismatches += float(v) != a[r, c]
    print("valid", valid, "mismatches", mismatches)
    sys.exit(0)

if sys.argv[1] == "write":
    out = sys.argv[2]
    x, _ = np.polynomial.legendre.leggauss(64)
    write(out + "/gauss.nc", np.degrees(np.arcsin(x))[::-1], 2.8125 * np.arange(128))
    write(out + "/mild.nc", np.array([40.0 + i + (0.04 if i % 3 == 1 else 0.0) for i in range(20)]),
          0.5 + np.arange(30))
    sys.exit(0)

def bilinear(t, xs, ys):
    """Linear in longitude, then in latitude, at every (xs[k], ys[k])."""
    t = t.sortby("lat")
    lats, values = t.lat.values, t.values.astype("f8")
    rows = np.array([np.interp(xs, t.lon.values, values[k]) for k in range(len(lats))])  # (lat, cell)
    k = np.clip(np.searchsorted(lats, ys) - 1, 0, len(lats) - 2)
    w = (ys - lats[k]) / (lats[k + 1] - lats[k])
    cells = np.arange(len(xs))
    return (1 - w) * rows[k, cells] + w * rows[k + 1, cells]


path, csv, method = sys.argv[2], sys.argv[3], sys.argv[4]
t = xr.open_dataset(path)["t"]
lat_lo, lat_hi = float(t.lat.min()), float(t.lat.max())
lon_lo, lon_hi = float(t.lon.min()), float(t.lon.max())
cells = [line.split(",") for line in open(csv).read().splitlines()[1:]]
xs = np.array([float(c[0]) for c in cells])
ys = np.array([float(c[1]) for c in cells])
vs = np.array([float(c[2]) if c[2] != "" else np.nan for c in cells])
if method == "nearest":
    ref = t.sel(lat=xr.DataArray(ys), lon=xr.DataArray(xs), method="nearest").values
    keep = ~np.isnan(vs)
    bad = np.float32(vs[keep]) != np.float32(ref[keep])
else:
    keep = (ys >= lat_lo) & (ys <= lat_hi) & (xs >= lon_lo) & (xs <= lon_hi)
    ref = bilinear(t, xs[keep], ys[keep])
    bad = ~(np.abs(vs[keep] - ref) <= 1e-6 * np.abs(ref))
for i in np.flatnonzero(bad)[:3]:
    print("cell", xs[keep][i], ys[keep][i], "rasterflow", vs[keep][i], "xarray", ref[i] if method != "nearest" else ref[keep][i])
print("valid", int(keep.sum()), "mismatches", int(bad.sum()))
