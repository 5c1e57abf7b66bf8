"""rasterflow.to_xarray against rioxarray and GDAL, run by CTest with /usr/bin/python3 (each case
its own entry, Xarray.<name>). The Dataset must join with rioxarray's arrays of the same grid,
carry its CRS the way rioxarray and CF do, and write a NetCDF file GDAL georeferences.

rioxarray: Debian's python3-rioxarray, unpacked by scripts/bootstrap.sh into .deps/python (on
the tests' PYTHONPATH).
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import rasterflow

CLI = os.environ["RASTERFLOW_CLI"]
SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-xarray-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def graph(resolution, crs="EPSG:4326"):
    """The demo graph on the sample data, its sink a GeoTIFF of the merged grid (the engine's
    raster_sink: the grid's geotransform and CRS as GDAL writes them)."""
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
    g["nodes"][-1] = {"id": "tif", "type": "raster_sink", "inputs": ["merged"], "path": "merged.tif"}
    g["grid"].update({"crs": crs, "resolution": resolution})
    return g


def merged_tif(g, name):
    """The command line's GeoTIFF of graph g."""
    out = os.path.join(WORK, name)
    path = os.path.join(WORK, name + ".json")
    with open(path, "w") as f:
        json.dump(g, f)
    r = subprocess.run([CLI, "run", path, "--output-dir", out, "--set", "metrics.backend=none"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return os.path.join(out, "merged.tif")


def rioxarray_or_skip(case):
    try:
        import rioxarray
    except ImportError:
        case.skipTest("rioxarray is not installed (scripts/bootstrap.sh unpacks it into .deps/python)")
    return rioxarray


# Grids whose cell centres, parsed from the CSV's text, differ from rioxarray's in the last bits:
# 0.003 degrees (3334 x 1667 cells) and 2500 m in Web Mercator.
GRIDS = [("geographic", 0.003, "EPSG:4326"), ("mercator", 2500.0, "EPSG:3857")]


class Xarray(unittest.TestCase):
    def test_CoordinatesJoinRioxarrayArrays(self):
        rioxarray = rioxarray_or_skip(self)
        import xarray as xr
        for name, resolution, crs in GRIDS:
            with self.subTest(name):
                g = graph(resolution, crs)
                ds = rasterflow.to_xarray(g)
                # Band 1: temperature.
                tif = rioxarray.open_rasterio(merged_tif(g, name)).isel(band=0, drop=True)
                shape = (tif.sizes["y"], tif.sizes["x"])
                self.assertEqual((ds.sizes["y"], ds.sizes["x"]), shape)
                # Bit for bit the coordinates rioxarray gives the same grid.
                np.testing.assert_array_equal(ds["x"].values, tif["x"].values)
                np.testing.assert_array_equal(ds["y"].values, tif["y"].values)
                self.assertEqual(ds.rio.transform(), tif.rio.transform())
                # Joins keep the grid's shape.
                merged = xr.merge([ds, tif.rename("from_tif")])
                self.assertEqual((merged.sizes["y"], merged.sizes["x"]), shape)
                high = ds["temperature"].where(tif > float(tif.median()))
                self.assertEqual(high.shape, shape)
                self.assertGreater(int(high.notnull().sum()), 0)
                # rioxarray's reproject_match onto the Dataset lands on the same coordinates.
                elevation = rioxarray.open_rasterio(os.path.join(WORK, "data", "elevation.tif")).squeeze("band")
                matched = elevation.rio.reproject_match(ds)
                np.testing.assert_array_equal(matched["x"].values, ds["x"].values)
                np.testing.assert_array_equal(matched["y"].values, ds["y"].values)
                self.assertEqual(xr.merge([ds, matched.rename("e2")]).sizes["x"], shape[1])

    def test_CrsOnEveryVariableAndNetcdfForGdal(self):
        rioxarray_or_skip(self)
        from osgeo import gdal, osr
        gdal.UseExceptions()
        g = graph(0.05)
        ds = rasterflow.to_xarray(g)
        tif = gdal.Open(merged_tif(g, "netcdf_ref"))
        expected_srs = tif.GetSpatialRef()

        def same_crs(srs):  # the CRS, whatever order a program keeps its axes in
            return bool(srs.IsSame(expected_srs, ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES"]))
        for n in ds.data_vars:
            self.assertEqual(ds[n].encoding["grid_mapping"], "spatial_ref", n)
            self.assertIsNotNone(ds[n].rio.crs, n)
            self.assertEqual(ds[n].rio.crs.to_epsg(), 4326, n)
        attrs = ds["spatial_ref"].attrs
        self.assertEqual(attrs["grid_mapping_name"], "latitude_longitude")
        self.assertTrue(same_crs(osr.SpatialReference(wkt=attrs["crs_wkt"])))
        self.assertEqual([float(v) for v in attrs["GeoTransform"].split()], list(tif.GetGeoTransform()))
        path = os.path.join(WORK, "merged.nc")
        ds.to_netcdf(path)
        for k, n in enumerate(ds.data_vars):
            nc = gdal.Open(f'NETCDF:"{path}":{n}')
            self.assertEqual(nc.GetGeoTransform(), tif.GetGeoTransform(), n)
            self.assertTrue(same_crs(nc.GetSpatialRef()), n)
            band = nc.GetRasterBand(1)
            values = band.ReadAsArray().astype(np.float64)
            nodata = band.GetNoDataValue()
            self.assertIsNotNone(nodata, n)
            values[values == nodata] = np.nan
            np.testing.assert_array_equal(values, ds[n].values.astype(np.float64), err_msg=n)
            # The engine's own GeoTIFF holds the same values (its band k+1).
            ref = tif.GetRasterBand(k + 1)
            ref_values = ref.ReadAsArray().astype(np.float64)
            ref_values[ref_values == ref.GetNoDataValue()] = np.nan
            np.testing.assert_array_equal(values, ref_values, err_msg=n)
        # The integer column is written as its own type, with a fill value it never holds.
        self.assertEqual(gdal.Open(f'NETCDF:"{path}":landcover').GetRasterBand(1).DataType, gdal.GDT_Byte)
        # rio.to_raster writes a GeoTIFF with the CRS.
        out = os.path.join(WORK, "temperature.tif")
        ds["temperature"].rio.to_raster(out)
        self.assertTrue(same_crs(gdal.Open(out).GetSpatialRef()))


if __name__ == "__main__":
    unittest.main()
