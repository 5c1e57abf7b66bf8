"""A curvilinear NetCDF source for tests/nodes/test_geolocation.cpp (#28), written with
python3-netcdf4 as CMIP6 sea-ice and NCEP Stage IV files are: a variable on (y, x) whose
latitude and longitude are 2-D arrays named by its CF `coordinates` attribute.

    /usr/bin/python3 make_curvilinear.py OUT.nc
"""
import sys

import netCDF4
import numpy as np

ds = netCDF4.Dataset(sys.argv[1], "w")
ny, nx = 30, 40
ds.createDimension("y", ny)
ds.createDimension("x", nx)
j, i = np.meshgrid(np.arange(nx), np.arange(ny))
# Rows run south-east, columns north-east, and the columns bend: no geotransform describes it.
lon = 10 + 0.5 * j + 0.1 * i + 0.002 * (j - 20) ** 2
lat = 60 - 0.5 * i + 0.08 * j
for name, values, units, standard in (("lat", lat, "degrees_north", "latitude"),
                                      ("lon", lon, "degrees_east", "longitude")):
    v = ds.createVariable(name, "f8", ("y", "x"))
    v.units = units
    v.standard_name = standard
    v[:] = values
t = ds.createVariable("t", "f4", ("y", "x"), fill_value=-999.0)
t.coordinates = "lat lon"
t.units = "K"
values = (280 + 0.3 * i + 5 * np.sin(0.3 * j)).astype("f4")
values[3, 5] = -999.0  # one missing pixel
values[17, 22] = -999.0
t[:] = values
ds.close()
