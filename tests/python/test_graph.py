"""Graphs from Python (#31), run by CTest with /usr/bin/python3 (each case its own entry,
Graph.<name>): dict graphs holding Python values, and a merge described without JSON or a sink."""
import json
import os
import pathlib
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
    WORK = tempfile.mkdtemp(prefix="rasterflow-graph-")
    subprocess.run([CLI, "sample-data", os.path.join(WORK, "data"), "--size", "small"], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def demo():
    """The demo graph, plain JSON values, paths absolute."""
    with open(os.path.join(SOURCE_DIR, "graphs", "demo.json")) as f:
        g = json.load(f)
    for n in g["nodes"]:
        if n["type"] == "raster_source":
            n["path"] = os.path.join(WORK, "data", os.path.basename(n["path"]))
    return g


class Graph(unittest.TestCase):
    def test_DictGraphTakesPythonValues(self):
        import pandas as pd
        from osgeo import osr
        expected = rasterflow.to_pandas(demo())
        g = demo()
        for n in g["nodes"]:
            if n["type"] == "raster_source":
                n["path"] = pathlib.Path(n["path"])
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        g["grid"]["crs"] = srs  # osgeo's ExportToWkt(); pyproj's and rasterio's to_wkt()
        g["grid"]["resolution"] = np.float64(0.05)
        g["nodes"][2]["band"] = np.int64(1)
        pd.testing.assert_frame_equal(rasterflow.to_pandas(g), expected)
        self.assertEqual(rasterflow.validate(g)["grid_width"], 200)
        # A value that is no graph value names its node and field.
        g["nodes"][0]["nodata"] = {1, 2}
        with self.assertRaises(TypeError) as e:
            rasterflow.validate(g)
        self.assertIn('<dict>: node "temperature_src": field "nodata": a set is not a graph value', str(e.exception))
        g["nodes"][0].pop("nodata")
        g["grid"]["extent"] = object()
        with self.assertRaises(TypeError) as e:
            rasterflow.validate(g)
        self.assertIn('<dict>: grid: field "extent": a object is not a graph value', str(e.exception))
        # np.float32 values are taken as the float32 they are.
        g["grid"].pop("extent")
        g["nodes"][0]["nodata"] = np.float32(-9999)
        pd.testing.assert_frame_equal(rasterflow.to_pandas(g), expected)

    def test_MergeDescribedInPython(self):
        import pandas as pd
        data = pathlib.Path(WORK) / "data"
        g = rasterflow.merge_graph(
            {"temperature": rasterflow.Source(data / "temperature.tif", method="average"),
             "elevation": (data / "elevation.tif", "average"),
             "landcover": rasterflow.Source(data / "landcover.tif", band=1)},
            crs="EPSG:4326", resolution=np.float64(0.05))
        self.assertFalse(any(n["type"].endswith("_sink") for n in g["nodes"]))
        # No sink: chunks(), to_pandas() and to_xarray() stream the merge as the demo's.
        pd.testing.assert_frame_equal(rasterflow.to_pandas(g), rasterflow.to_pandas(demo()))
        self.assertEqual(len(rasterflow.chunks(g)), len(rasterflow.chunks(demo())))
        self.assertEqual(list(rasterflow.to_xarray(g).data_vars), ["temperature", "elevation", "landcover"])
        # With an output, run() writes it as the command line does the demo graph.
        out = os.path.join(WORK, "out")
        rasterflow.run(rasterflow.merge_graph({"temperature": (data / "temperature.tif", "average"),
                                               "elevation": (data / "elevation.tif", "average"),
                                               "landcover": data / "landcover.tif"},
                                              crs="EPSG:4326", resolution=0.05, output="merged.csv"),
                       output_dir=out, set={"metrics.backend": "none"})
        cli_out = os.path.join(WORK, "cli")
        path = os.path.join(WORK, "demo.json")
        with open(path, "w") as f:
            json.dump(demo(), f)
        subprocess.run([CLI, "run", path, "--output-dir", cli_out, "--set", "metrics.backend=none"], check=True,
                       capture_output=True)
        with open(os.path.join(out, "merged.csv"), "rb") as a, open(os.path.join(cli_out, "merged.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        with self.assertRaises(TypeError):
            rasterflow.merge_graph([data / "temperature.tif"])

    def test_MergeLikeAnXarrayGrid(self):
        # like=: rioxarray's reproject_match in one call, onto the grid of an array rioxarray
        # opened (here the engine's own GeoTIFF of a 0.03 degree EPSG:4326 grid), or of a path.
        try:
            import rioxarray
        except ImportError:
            self.skipTest("rioxarray is not installed (scripts/bootstrap.sh unpacks it into .deps/python)")
        import xarray as xr
        g = demo()
        g["grid"]["resolution"] = 0.03
        g["nodes"][-1] = {"id": "tif", "type": "raster_sink", "inputs": ["merged"], "path": "grid.tif"}
        out = os.path.join(WORK, "like")
        rasterflow.run(g, output_dir=out, set={"metrics.backend": "none"})
        template = rioxarray.open_rasterio(os.path.join(out, "grid.tif")).isel(band=0, drop=True)
        data = pathlib.Path(WORK) / "data"
        for like in (template, os.path.join(out, "grid.tif")):
            ds = rasterflow.to_xarray(rasterflow.merge_graph({"elevation": (data / "elevation.tif", "average")},
                                                             like=like))
            np.testing.assert_array_equal(ds["x"].values, template["x"].values)
            np.testing.assert_array_equal(ds["y"].values, template["y"].values)
            self.assertEqual(dict(xr.merge([ds, template.rename("t")]).sizes), dict(template.sizes))
            self.assertEqual(ds.rio.crs, template.rio.crs)

    def test_MergeLikeAnyOriginAsReprojectMatch(self):
        # like= templates whose edges are not multiples of their resolution (refused before the
        # grid origin of #28): the Dataset has the template's coordinates bit for bit, joins it
        # without growing, and holds the values rioxarray's reproject_match gives.
        try:
            import rioxarray
        except ImportError:
            self.skipTest("rioxarray is not installed (scripts/bootstrap.sh unpacks it into .deps/python)")
        import xarray as xr
        from rasterio.enums import Resampling
        path = os.path.join(WORK, "data", "elevation.tif")
        elev = rioxarray.open_rasterio(path, masked=True).squeeze("band", drop=True)
        shifted = elev.isel(x=slice(0, 400), y=slice(0, 200))
        shifted = shifted.assign_coords(x=shifted["x"] + 0.0123, y=shifted["y"] - 0.0071)
        # As a NetCDF file holds them: south to north, decimal values.
        lon = np.round(0.0137 + 0.025 * (np.arange(400) + 0.5), 6)
        lat = np.round(40.0071 + 0.025 * (np.arange(150) + 0.5), 6)
        ascending = xr.DataArray(np.zeros((150, 400), "f4"), coords={"y": lat, "x": lon},
                                 dims=("y", "x")).rio.write_crs("EPSG:4326")
        mercator = elev.rio.reproject("EPSG:3857", resolution=2471.3)
        tif = os.path.join(WORK, "shifted.tif")
        shifted.rio.to_raster(tif)
        templates = {"shifted": shifted, "ascending": ascending, "mercator": mercator,
                     "GeoTIFF path": tif, "Source": rasterflow.Source(tif)}
        for name, like in templates.items():
            with self.subTest(name):
                g = rasterflow.merge_graph({"elevation": (path, "nearest")}, like=like)
                ds = rasterflow.to_xarray(g)
                template = like if hasattr(like, "rio") else rioxarray.open_rasterio(tif).squeeze("band", drop=True)
                order = slice(None, None, -1) if name == "ascending" else slice(None)
                np.testing.assert_array_equal(ds["x"].values, template["x"].values)
                np.testing.assert_array_equal(ds["y"].values, template["y"].values[order])
                self.assertEqual(ds.rio.crs, template.rio.crs)
                matched = elev.rio.reproject_match(template, resampling=Resampling.nearest)
                self.assertEqual(dict(xr.merge([ds, matched.rename("m")]).sizes), dict(template.sizes))
                self.assertEqual(ds["elevation"].where(matched > float(matched.median())).shape,
                                 (template.sizes["y"], template.sizes["x"]))
                ours, theirs = ds["elevation"].values, matched.values[order]
                np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
                self.assertGreater(int((~np.isnan(ours)).sum()), 1000)
                np.testing.assert_array_equal(ours, theirs)
        # average: as rioxarray's warp, which computes in float32 (float32 rounding apart).
        g = rasterflow.merge_graph({"elevation": (path, "average")}, like=shifted)
        ours = rasterflow.to_xarray(g)["elevation"].values
        theirs = elev.rio.reproject_match(shifted, resampling=Resampling.average).values
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        # Coordinates that are not evenly spaced are refused, not relabelled.
        uneven = ascending.assign_coords(x=np.concatenate([lon[:-1], lon[-1:] + 0.01]))
        with self.assertRaises(ValueError) as e:
            rasterflow.merge_graph({"elevation": path}, like=uneven)
        self.assertIn("like: the x coordinates are not evenly spaced", str(e.exception))


if __name__ == "__main__":
    unittest.main()
