"""CF metadata in Python (#30): to_xarray's variables carry the sources' CF attributes, a source
variable's time steps are one variable with a time dimension decoded as xarray decodes it, and
ds.to_netcdf() round-trips; to_pandas' attrs. Run by CTest with /usr/bin/python3 (each case its
own entry, Cf.<name>). The inputs are written by python3-netcdf4 (tests/data/make_cf_inputs.py);
the reference is xarray's own open_dataset of the same file."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import rasterflow

SOURCE_DIR = os.environ["RASTERFLOW_SOURCE_DIR"]
WORK = None
CALENDARS = ("standard", "gregorian", "proleptic_gregorian", "noleap", "365_day", "all_leap", "366_day", "360_day",
             "julian")


def setUpModule():
    global WORK
    WORK = tempfile.mkdtemp(prefix="rasterflow-cf-")
    subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "tests", "data", "make_cf_inputs.py"), WORK], check=True)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def graph(*sources):
    """A merge of (column, file, options) on the inputs' own 10-degree grid."""
    nodes = []
    for column, name, options in sources:
        nodes.append({"id": column + "_src", "type": "raster_source", "path": os.path.join(WORK, name),
                      "crs": "EPSG:4326", **options})
        nodes.append({"id": column, "type": "resample", "inputs": [column + "_src"], "method": "nearest"})
    nodes.append({"id": "merged", "type": "merge", "inputs": [s[0] for s in sources]})
    return {"name": "cf", "grid": {"crs": "EPSG:4326", "resolution": 10, "extent": [0, 10, 50, 50]}, "nodes": nodes}


ALL_STEPS = {"band": "all", "band_names": "coordinates"}

# Three GRIB2 messages (temperature at 500 hPa, 1-3 January 2020 at 12 UTC) on the 10-degree
# grid, and the values ecCodes decodes from them (PATH.npy: time, row north first, column).
WRITE_GRIB_STEPS = """
import sys, eccodes, numpy as np
path, stored = sys.argv[1], []
with open(path, "wb") as f:
    for day in (1, 2, 3):
        h = eccodes.codes_grib_new_from_samples("regular_ll_pl_grib2")
        for key, value in (("paramId", 130), ("level", 500), ("dataDate", 20200100 + day), ("dataTime", 1200),
                           ("Ni", 5), ("Nj", 4), ("iDirectionIncrementInDegrees", 10.0),
                           ("jDirectionIncrementInDegrees", 10.0), ("latitudeOfFirstGridPointInDegrees", 45.0),
                           ("longitudeOfFirstGridPointInDegrees", 5.0), ("latitudeOfLastGridPointInDegrees", 15.0),
                           ("longitudeOfLastGridPointInDegrees", 45.0), ("bitsPerValue", 24)):
            eccodes.codes_set(h, key, value)
        eccodes.codes_set_values(h, 250.0 + day + np.arange(20.0))
        stored.append(eccodes.codes_get_values(h).reshape(4, 5))
        eccodes.codes_write(h, f)
        eccodes.codes_release(h)
np.save(path + ".npy", np.array(stored))
"""


def assert_times_equal(case, ours, theirs, msg):
    """Same decoded times, of the same kind (datetime64 or the same cftime class)."""
    case.assertEqual(ours.dtype, theirs.dtype, msg)
    case.assertEqual([type(t) for t in ours.values], [type(t) for t in theirs.values], msg)
    case.assertEqual(list(ours.values), list(theirs.values), msg)


class Cf(unittest.TestCase):
    def test_TimeStepsAreOneVariableAsXarrayOpensTheSource(self):
        import xarray as xr
        for calendar in CALENDARS:
            with self.subTest(calendar):
                path = os.path.join(WORK, f"cal_{calendar}.nc")
                ds = rasterflow.to_xarray(graph(("tas", f"cal_{calendar}.nc", ALL_STEPS)))
                ref = xr.open_dataset(path)
                self.assertEqual(list(ds.data_vars), ["tas"])
                self.assertEqual(ds["tas"].dims, ("time", "y", "x"))
                assert_times_equal(self, ds["time"], ref["time"], calendar)
                self.assertEqual(ds["tas"].dtype, ref["tas"].dtype)
                np.testing.assert_array_equal(ds["tas"].values, ref["tas"].values)
                self.assertEqual(ds["tas"].attrs, ref["tas"].attrs)
                # xarray's own selection by date works on it.
                first = str(ref["time"].values[0])[:10]
                np.testing.assert_array_equal(ds["tas"].sel(time=first).values, ref["tas"].sel(time=first).values)

    def test_AttributesOfPackedVariablesAsXarray(self):
        import xarray as xr
        ds = rasterflow.to_xarray(graph(("sst32", "packed_f4.nc", {}), ("sst64", "packed_f8.nc", {})))
        for name, file in (("sst32", "packed_f4.nc"), ("sst64", "packed_f8.nc")):
            ref = xr.open_dataset(os.path.join(WORK, file))["sst"]
            self.assertEqual(ds[name].attrs, ref.attrs, name)
            self.assertEqual(ds[name].attrs["units"], "K" if name == "sst32" else "degC")
        ref = xr.open_dataset(os.path.join(WORK, "packed_f4.nc"))["sst"]
        np.testing.assert_array_equal(ds["sst32"].values, ref.values)

    def test_NetcdfRoundTripKeepsAttributesTimeAndTypes(self):
        import netCDF4
        import xarray as xr
        for calendar in ("noleap", "360_day", "standard"):
            with self.subTest(calendar):
                g = graph(("tas", f"cal_{calendar}.nc", ALL_STEPS), ("sst", "packed_f4.nc", {}))
                ds = rasterflow.to_xarray(g)
                out = os.path.join(WORK, f"round_{calendar}.nc")
                ds.to_netcdf(out)
                # decode_coords="all" (as rioxarray opens): grid_mapping back into the encoding.
                with xr.open_dataset(out, decode_coords="all") as back:
                    xr.testing.assert_identical(back, ds)
                    self.assertEqual(back["tas"].dtype, np.float32)
                    self.assertEqual(back["tas"].encoding["grid_mapping"], "spatial_ref")
                # On disk: the time as xarray writes the source's own (same units, calendar and
                # values: xarray rewrites "days since 1850-01-01 00:00:00" of datetime64 times as
                # "days since 1850-01-01"), and units on the variables.
                mirror = os.path.join(WORK, f"xarray_{calendar}.nc")
                xr.open_dataset(os.path.join(WORK, f"cal_{calendar}.nc")).to_netcdf(mirror)
                with netCDF4.Dataset(out) as nc, netCDF4.Dataset(mirror) as src:
                    self.assertEqual(nc["time"].calendar, src["time"].calendar)
                    self.assertEqual(nc["time"].units, src["time"].units)
                    np.testing.assert_array_equal(nc["time"][:], src["time"][:])
                    self.assertEqual(nc["tas"].units, "K")
                    self.assertEqual(nc["sst"].standard_name, "sea_surface_temperature")
                    self.assertEqual(nc["tas"].dimensions, ("time", "y", "x"))

    def test_LayoutChoosesVariablesPerColumnOrTime(self):
        import xarray as xr
        g = graph(("tas", "cal_noleap.nc", ALL_STEPS))
        columns = rasterflow.to_xarray(g, layout="columns")
        ref = xr.open_dataset(os.path.join(WORK, "cal_noleap.nc"))
        self.assertEqual(len(columns.data_vars), ref.sizes["time"])
        for k, name in enumerate(columns.data_vars):
            self.assertTrue(name.startswith("tas_"), name)
            self.assertEqual(columns[name].dims, ("y", "x"))
            self.assertEqual(columns[name].attrs, {"units": "K"})
            np.testing.assert_array_equal(columns[name].values, ref["tas"].values[k])
        # One time step: a variable of its own by default, a time dimension of 1 with "time".
        one = graph(("tas", "cal_noleap.nc", {"band": 2, "band_names": "coordinates"}))
        self.assertEqual(rasterflow.to_xarray(one)["tas_1850-02-28"].dims, ("y", "x"))
        stacked = rasterflow.to_xarray(one, layout="time")
        self.assertEqual(stacked["tas"].dims, ("time", "y", "x"))
        assert_times_equal(self, stacked["time"], ref["time"][1:2], "one step")
        # Time and level: not the steps of one time dimension; a variable per column, or refused.
        levels = graph(("z", "levels.nc", ALL_STEPS))
        ds = rasterflow.to_xarray(levels)
        self.assertEqual(len(ds.data_vars), 6)
        self.assertEqual({ds[n].attrs["units"] for n in ds.data_vars}, {"m2 s-2"})
        with self.assertRaises(rasterflow.UsageError) as e:
            rasterflow.to_xarray(levels, layout="time")
        self.assertIn("same time step", str(e.exception))
        self.assertIn("z", str(e.exception))
        with self.assertRaises(rasterflow.UsageError):
            rasterflow.to_xarray(g, layout="rows")
        # Two variables with other times: a time dimension each; with the same times, one.
        two = rasterflow.to_xarray(graph(("tas", "cal_noleap.nc", ALL_STEPS), ("t360", "cal_360_day.nc", ALL_STEPS),
                                         ("again", "cal_noleap.nc", ALL_STEPS)))
        self.assertEqual(two["tas"].dims, ("time", "y", "x"))
        self.assertEqual(two["again"].dims, ("time", "y", "x"))
        self.assertEqual(two["t360"].dims, ("time_t360", "y", "x"))
        ref360 = xr.open_dataset(os.path.join(WORK, "cal_360_day.nc"))
        self.assertEqual(list(two["time_t360"].values), list(ref360["time"].values))

    def test_GribTimeStepsBecomeATimeDimension(self):
        # GRIB2 messages of one parameter and level at three times (written by ecCodes): one
        # variable with a datetime64 time dimension of the messages' validity times. ecCodes runs
        # in a process of its own: Debian's python3-eccodes (ecmwflibs) sets PROJ_LIB to its own
        # PROJ data on import, after which GDAL in the same process resolves no EPSG code.
        if subprocess.run([sys.executable, "-c", "import eccodes"], capture_output=True).returncode != 0:
            self.skipTest("python3-eccodes is not installed (scripts/bootstrap.sh installs it)")
        path = os.path.join(WORK, "steps.grib2")
        subprocess.run([sys.executable, "-c", WRITE_GRIB_STEPS, path], check=True)
        stored = np.load(path + ".npy")
        ds = rasterflow.to_xarray(graph(("t", "steps.grib2", ALL_STEPS)))
        self.assertEqual(ds["t"].dims, ("time", "y", "x"))
        self.assertEqual(list(ds["time"].values),
                         [np.datetime64(f"2020-01-0{d}T12:00", "ns") for d in (1, 2, 3)])
        # GDAL gives GRIB2 temperatures in degrees Celsius (docs/nodes.md): the unit says so.
        self.assertEqual(ds["t"].attrs["units"], "C")
        np.testing.assert_allclose(ds["t"].values, stored - 273.15, atol=1e-9)

    def test_ToPandasAttrsCarryUnitsAndCrs(self):
        df = rasterflow.to_pandas(graph(("tas", "cal_noleap.nc", ALL_STEPS), ("sst", "packed_f4.nc", {})))
        units = df.attrs["units"]
        self.assertEqual(units["sst"], "K")
        self.assertEqual(sorted(units), sorted(c for c in df.columns if c not in ("x", "y")))
        self.assertEqual(df.attrs["standard_name"], {"sst": "sea_surface_temperature"})
        self.assertEqual(df.attrs["long_name"], {"sst": "sea surface temperature"})
        self.assertIn("WGS 84", df.attrs["crs"])


if __name__ == "__main__":
    unittest.main()
