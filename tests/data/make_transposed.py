"""A variable stored (time, lon, lat), as TRMM's, for tests/nodes/test_transposed.cpp (#28),
written with python3-netcdf4, and what xarray reads from it transposed to (lat, lon), north first:
expected.csv (lon, lat, one value per time step, as float32 text) and ref.tif (the first step as
a north-up GeoTIFF, missing values NaN) for gdalwarp.

    /usr/bin/python3 make_transposed.py DIR
"""
import os
import sys

import netCDF4
import numpy as np
import xarray as xr
from osgeo import gdal

out = sys.argv[1]
path = os.path.join(out, "trmm.nc")
ds = netCDF4.Dataset(path, "w")
nlon, nlat = 30, 20
ds.createDimension("time", 2)
ds.createDimension("lon", nlon)
ds.createDimension("lat", nlat)
t = ds.createVariable("time", "f8", ("time",))
t.units = "hours since 2000-01-01"
t[:] = [0, 3]
lat = ds.createVariable("lat", "f4", ("lat",))
lat.units = "degrees_north"
lat.standard_name = "latitude"
lat[:] = -9.875 + 0.25 * np.arange(nlat)  # ascending, as TRMM's
lon = ds.createVariable("lon", "f4", ("lon",))
lon.units = "degrees_east"
lon.standard_name = "longitude"
lon[:] = 100.125 + 0.25 * np.arange(nlon)
p = ds.createVariable("precipitation", "f4", ("time", "lon", "lat"), fill_value=-9999.9)
p.units = "mm/hr"
k, i, j = np.meshgrid(np.arange(2), np.arange(nlon), np.arange(nlat), indexing="ij")
values = (0.1 * i + 0.37 * j + 1.5 * k + 0.01 * i * j).astype("f4")
values[0, 4, 7] = -9999.9
values[1, 11, 2] = -9999.9
p[:] = values
ds.close()

x = xr.open_dataset(path)["precipitation"].transpose("time", "lat", "lon").isel(lat=slice(None, None, -1))
with open(os.path.join(out, "expected.csv"), "w") as f:
    for a, la in enumerate(x.lat.values):
        for b, lo in enumerate(x.lon.values):
            cells = ["" if np.isnan(x.values[s, a, b]) else repr(float(np.float32(x.values[s, a, b]))) for s in range(2)]
            f.write("%r,%r,%s\n" % (float(lo), float(la), ",".join(cells)))
tif = gdal.GetDriverByName("GTiff").Create(os.path.join(out, "ref.tif"), nlon, nlat, 1, gdal.GDT_Float32)
tif.SetGeoTransform((float(x.lon.values[0]) - 0.125, 0.25, 0, float(x.lat.values[0]) + 0.125, 0, -0.25))
tif.SetProjection("EPSG:4326")
tif.GetRasterBand(1).SetNoDataValue(float("nan"))
tif.GetRasterBand(1).WriteArray(x.values[0].astype("f4"))
tif = None
