"""The grid as xarray and rioxarray hold it: coordinates computed from the grid's transform
exactly as rioxarray computes them, the CRS as a ``spatial_ref`` coordinate (CF's and GDAL's
attributes) named by every variable's ``grid_mapping``, and nodata as ``_FillValue``
(docs/python.md, "xarray")."""
import numpy as _np

GRID_MAPPING = "spatial_ref"  # rioxarray's default grid mapping coordinate

# The value an integer column's cells without data take when the Dataset is written (netCDF's
# default fill values), by GDAL data type; used only when no cell holds it.
_INTEGER_FILL = {
    "Byte": ("uint8", 255),
    "Int8": ("int8", -127),
    "UInt16": ("uint16", 65535),
    "Int16": ("int16", -32767),
    "UInt32": ("uint32", 4294967295),
    "Int32": ("int32", -2147483647),
    "UInt64": ("uint64", 18446744073709551614),
    "Int64": ("int64", -9223372036854775806),
}


def geotransform(grid):
    """The grid's GDAL geotransform (north up): x0, res_x, 0, y0, 0, -res_y."""
    return (grid["x0"], grid["res_x"], 0.0, grid["y0"], 0.0, -grid["res_y"])


def cell_centres(grid):
    """The x and y coordinates of the cell centres, bit for bit as rioxarray computes them
    (rioxarray.rioxarray.affine_to_coords): the transform composed with a half-cell translation
    the way affine.Affine composes them, applied to the column and row numbers."""
    sa, sb, sc, sd, se, sf = geotransform(grid)[1], 0.0, grid["x0"], 0.0, -grid["res_y"], grid["y0"]
    # affine * Affine.translation(0.5, 0.5): only the offsets change.
    c = sa * 0.5 + sb * 0.5 + sc
    f = sd * 0.5 + se * 0.5 + sf
    width, height = grid["width"], grid["height"]
    x = _np.arange(width) * sa + _np.zeros(width) * sb + c
    y = _np.zeros(height) * sd + _np.arange(height) * se + f
    return x, y


def spatial_ref_attrs(crs_wkt, transform):
    """The ``spatial_ref`` coordinate's attributes as rioxarray writes them: CF's grid mapping
    parameters (with pyproj installed), ``crs_wkt`` and ``spatial_ref`` (the WKT, which GDAL
    reads) and ``GeoTransform``."""
    attrs = {}
    if crs_wkt:
        try:
            import pyproj
        except ImportError:
            pyproj = None
        if pyproj is not None:
            attrs.update(pyproj.CRS.from_wkt(crs_wkt).to_cf())
        attrs["spatial_ref"] = crs_wkt
        attrs["crs_wkt"] = crs_wkt
    attrs["GeoTransform"] = " ".join(str(float(v)) for v in transform)
    return attrs


def fill_encoding(values, gdal_type):
    """A variable's encoding: floats write NaN as ``_FillValue``; an integer column (held as
    float with NaN) is written as its own type with netCDF's default fill value for it, unless
    a cell holds that value (then it stays float with NaN: nothing is written wrong)."""
    if values.dtype.kind == "f" and gdal_type in _INTEGER_FILL:
        dtype, fill = _INTEGER_FILL[gdal_type]
        if not (values == fill).any():
            return {"dtype": dtype, "_FillValue": fill}
    return {"_FillValue": values.dtype.type(_np.nan)}


def dataset(arrays, grid, types):
    """The Dataset of ``arrays`` (name -> 2-D array, rows north to south) on ``grid``;
    ``types``: name -> GDAL data type name."""
    import xarray as xr

    transform = geotransform(grid)
    x, y = cell_centres(grid)
    # x and y carry no CF axis attributes, as rioxarray's: with them GDAL's netCDF driver derives
    # the geotransform from the first and last centres (off in the last bits) instead of
    # reading GeoTransform.
    coords = {
        "y": ("y", y),
        "x": ("x", x),
        GRID_MAPPING: ((), 0, spatial_ref_attrs(grid["crs"], transform)),
    }
    ds = xr.Dataset({n: (("y", "x"), a) for n, a in arrays.items()}, coords=coords)
    for n, a in arrays.items():
        ds[n].encoding.update(fill_encoding(a, types.get(n, "")))
        ds[n].encoding["grid_mapping"] = GRID_MAPPING
    return ds
