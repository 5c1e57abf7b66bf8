#!/usr/bin/python3
"""Writes the inputs of tests/nodes/test_raster_source.cpp with GDAL's own drivers (netCDF through
the multidimensional API, GTiff, zip): run as `/usr/bin/python3 make_climate_inputs.py DIR`."""
import gzip
import os
import sys
import zipfile

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

NT, NY, NX = 3, 20, 30
LON0, LAT0, RES = 10.0, 50.0, 0.125  # 1/8 degree, the north-west corner


def field(seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.random((NT, NY, NX)) * 100.0 * scale).astype(np.float32)


def add_axes(group):
    dims = {}
    for name, size in (("time", NT), ("lat", NY), ("lon", NX)):
        dims[name] = group.CreateDimension(name, "TEMPORAL" if name == "time" else None, None, size)
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    t = group.CreateMDArray("time", [dims["time"]], f64)
    t.Write(np.array([15.0, 45.0, 74.0]))
    t.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).WriteString("days since 2000-01-01")
    lat = group.CreateMDArray("lat", [dims["lat"]], f64)
    lat.Write(np.array([LAT0 - RES * (i + 0.5) for i in range(NY)]))
    lat.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).WriteString("degrees_north")
    lon = group.CreateMDArray("lon", [dims["lon"]], f64)
    lon.Write(np.array([LON0 + RES * (i + 0.5) for i in range(NX)]))
    lon.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).WriteString("degrees_east")
    return [dims["time"], dims["lat"], dims["lon"]]


def climate():
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(os.path.join(out, "climate.nc"))
    root = ds.GetRootGroup()
    dims = add_axes(root)
    f32 = gdal.ExtendedDataType.Create(gdal.GDT_Float32)
    for name, seed in (("pr", 1), ("tas", 2)):
        values = field(seed)
        values[:, 3:5, 4:9] = -9999.0
        var = root.CreateMDArray(name, dims, f32)
        var.SetNoDataValueDouble(-9999.0)
        var.Write(values)


def packed():
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(os.path.join(out, "packed.nc"))
    root = ds.GetRootGroup()
    dims = add_axes(root)
    var = root.CreateMDArray("t", dims, gdal.ExtendedDataType.Create(gdal.GDT_Int16))
    stored = (np.random.default_rng(3).random((NT, NY, NX)) * 6000 - 3000).astype(np.int16)
    stored[:, 0:4, 0:6] = -32767
    var.SetNoDataValueDouble(-32767)
    var.SetScale(0.01)
    var.SetOffset(273.15)
    var.Write(stored)


def geotiff(name, bands, nodata=None, crs="EPSG:4326", options=None, overviews=None, size=(96, 64)):
    w, h = size
    ds = gdal.GetDriverByName("GTiff").Create(os.path.join(out, name), w, h, bands, gdal.GDT_Float32,
                                               options or ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32",
                                                           "COMPRESS=DEFLATE"])
    ds.SetGeoTransform([LON0, RES / 4, 0, LAT0, 0, -RES / 4])
    if crs:
        srs = osr.SpatialReference()
        srs.SetFromUserInput(crs)
        ds.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(10 + bands)
    for b in range(1, bands + 1):
        band = ds.GetRasterBand(b)
        values = (rng.random((h, w)) * 1000 + b * 10000).astype(np.float32)
        if nodata is not None:
            values[5:9, 7:20] = nodata
            band.SetNoDataValue(nodata)
        band.WriteArray(values)
        band.SetDescription("band%d" % b)
    if overviews:
        ds.BuildOverviews("AVERAGE", overviews)
    ds = None


climate()
packed()
# A file of one variable: GDAL opens it as that variable (no subdatasets).
gdal.Translate(os.path.join(out, "one.nc"), 'NETCDF:"%s":pr' % os.path.join(out, "climate.nc"), format="netCDF")
geotiff("landsat.tif", 6, nodata=-1.0,
        options=["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32", "COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"],
        overviews=[2, 4])
geotiff("nocrs.tif", 1, nodata=-1.0, crs="")
geotiff("plain.tif", 1, nodata=-1.0)
with zipfile.ZipFile(os.path.join(out, "scene.zip"), "w") as z:
    z.write(os.path.join(out, "plain.tif"), "inner/plain.tif")
with open(os.path.join(out, "plain.tif"), "rb") as src, gzip.open(os.path.join(out, "plain.tif.gz"), "wb") as dst:
    dst.write(src.read())
gdal.Translate(os.path.join(out, "forecast.grb2"), os.path.join(out, "plain.tif"), format="GRIB")
gdal.BuildVRT(os.path.join(out, "mosaic.vrt"), [os.path.join(out, "plain.tif")])
try:
    import h5py  # Debian's python3-h5py (scripts/bootstrap.sh)
    with h5py.File(os.path.join(out, "swath.h5"), "w") as f:
        f.create_dataset("grid/ndvi", data=np.arange(600, dtype=np.float32).reshape(20, 30))
        f.create_dataset("grid/lst", data=np.arange(600, dtype=np.float32).reshape(20, 30))
    # Plain HDF5 carries no georeferencing GDAL reads: a VRT gives it one.
    gdal.Translate(os.path.join(out, "ndvi.vrt"), 'HDF5:"%s"://grid/ndvi' % os.path.join(out, "swath.h5"),
                   format="VRT", outputBounds=[LON0, LAT0, LON0 + NX * RES, LAT0 - NY * RES], outputSRS="EPSG:4326")
except ImportError:
    pass
geotiff("cog.tif", 1, nodata=-1.0, overviews=[2, 4, 8], size=(512, 384))
