#!/usr/bin/python3
"""The route an xarray user would write: rasterio reads and reprojects each raster onto the
target grid, xarray holds them as one Dataset, pandas writes the table.
    xarray_route.py DATA_DIR OUT.csv RESOLUTION XMIN YMIN XMAX YMAX"""
import sys

import numpy as np
import rasterio
import xarray as xr
from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

data, out, res = sys.argv[1], sys.argv[2], float(sys.argv[3])
xmin, ymin, xmax, ymax = (float(v) for v in sys.argv[4:8])
width, height = round((xmax - xmin) / res), round((ymax - ymin) / res)
transform = from_origin(xmin, ymax, res, res)
layers = {"temperature": ("temperature.tif", Resampling.average), "elevation": ("elevation.tif", Resampling.average),
          "landcover": ("landcover.tif", Resampling.nearest)}
variables = {}
for name, (tif, method) in layers.items():
    with rasterio.open(f"{data}/{tif}") as src:
        dst = np.full((height, width), np.nan, dtype="float64")
        reproject(rasterio.band(src, 1), dst, dst_transform=transform, dst_crs=CRS.from_epsg(4326), resampling=method,
                  src_nodata=src.nodata, dst_nodata=np.nan, num_threads=2)
        variables[name] = (("y", "x"), dst)
x = xmin + (np.arange(width) + 0.5) * res
y = ymax - (np.arange(height) + 0.5) * res
ds = xr.Dataset(variables, coords={"y": y, "x": x})
df = ds.to_dataframe().dropna(how="all").reset_index()[["x", "y"] + list(layers)]
df.to_csv(out, index=False)
