"""The grid as xarray and rioxarray hold it: coordinates computed from the grid's transform
exactly as rioxarray computes them, the CRS as a ``spatial_ref`` coordinate (CF's and GDAL's
attributes) named by every variable's ``grid_mapping``, and nodata as ``_FillValue``; the
sources' CF attributes on the variables, and a source variable's time steps as one variable
with a ``time`` dimension decoded as xarray decodes it (docs/python.md, "xarray")."""
from dataclasses import dataclass as _dataclass, field as _field

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


_CF_ATTRIBUTES = ("units", "long_name", "standard_name")  # carried from the sources (#30)
LAYOUTS = ("auto", "columns", "time")


@_dataclass
class Variable:
    """One variable of the Dataset: a merged column, or the columns that are the time steps of
    one source variable (then ``time_dim`` names its time dimension)."""

    name: str
    columns: list
    gdal_type: str
    attrs: dict
    time_dim: object = None  # None: a (y, x) variable
    times: list = _field(default_factory=list)  # the steps as stored, with time_units/calendar
    time_units: str = ""
    time_calendar: str = ""


def _attrs(meta):
    return {k: meta[k] for k in _CF_ATTRIBUTES if meta.get(k)}


def _not_stackable(columns, types, metadata):
    """Why ``columns`` (one source variable's) are not the time steps of one variable; None
    when they are: each has a decoded time, all distinct, one type, units and time encoding."""
    first = metadata[columns[0]]
    for c in columns:
        m = metadata[c]
        if m.get("time") is None:
            return f"column {c} has no time step"
        for key, what in (("units", "units"), ("time_units", "time units"), ("time_calendar", "calendar")):
            if m.get(key) != first.get(key):
                return f"columns {columns[0]} and {c} differ in {what}"
        if types.get(c) != types.get(columns[0]):
            return f"columns {columns[0]} and {c} differ in type ({types.get(columns[0])}, {types.get(c)})"
    if len({metadata[c]["time"] for c in columns}) != len(columns):
        return "two of its columns have the same time step (a dimension besides time, such as a level)"
    return None


def _groups(names, metadata):
    """The columns of each source variable (the node that made them), in the columns' order."""
    groups = {}
    for n in names:
        groups.setdefault(metadata[n].get("variable") or n, []).append(n)
    return groups


def plan_variables(names, types, metadata, layout):
    """The Dataset's variables. ``layout``: "auto" makes the columns of a source variable that
    are its time steps (several, each with a decoded time) one variable with a time dimension,
    and every other column a variable; "columns" a variable per column; "time" as "auto", and
    also a single time step gets a time dimension of length 1, and a source variable whose
    columns have times but are not its steps is refused (ValueError naming it and why)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout: expected "auto", "columns" or "time", got {layout!r}')
    metadata = {n: metadata.get(n) or {} for n in names}
    taken, out, dims = set(names), [], {}
    for var, columns in _groups(names, metadata).items():
        why = _not_stackable(columns, types, metadata)
        if why is None and var in taken and var not in columns:
            why = f"its name {var} is a column's name"
        if layout == "time" and why is not None and any(metadata[c].get("time") is not None for c in columns):
            raise ValueError(f'layout "time": the columns of {var} cannot be one variable with a time dimension: {why}')
        if layout == "columns" or why is not None or (layout == "auto" and len(columns) < 2):
            out += [Variable(c, [c], types.get(c, ""), _attrs(metadata[c])) for c in columns]
            continue
        first = metadata[columns[0]]
        v = Variable(var, columns, types.get(columns[0], ""), _attrs(first), times=[metadata[c]["time"] for c in columns],
                     time_units=first.get("time_units", ""), time_calendar=first.get("time_calendar", ""))
        key = (v.time_units, v.time_calendar, tuple(v.times))
        if key not in dims:
            dims[key] = _free_name("time" if not dims else f"time_{var}", taken)
            taken.add(dims[key])
        v.time_dim = dims[key]
        taken.add(var)
        out.append(v)
    return out


def _free_name(name, taken):
    while name in taken:
        name += "_"
    return name


def time_coordinate(v):
    """The decoded time coordinate of a stacked variable: what ``xarray.decode_cf`` gives for
    the steps with their units and calendar (datetime64 for standard calendars within its range,
    cftime objects otherwise), its encoding keeping the units and calendar for to_netcdf."""
    import xarray as xr
    attrs = {"units": v.time_units}
    if v.time_calendar:
        attrs["calendar"] = v.time_calendar
    raw = xr.Dataset(coords={v.time_dim: (v.time_dim, _np.asarray(v.times, dtype="float64"), attrs)})
    return xr.decode_cf(raw)[v.time_dim].variable


def template_coordinates(grid, like):
    """The coordinates of a ``like=`` template (x and y in its order) as the grid's, north to
    south: its own values, as rioxarray's reproject_match gives them; None when ``like`` holds
    none or another grid (the graph was changed since)."""
    if like is None:
        return None
    x, y = like
    if len(x) != grid["width"] or len(y) != grid["height"]:
        return None
    if len(y) > 1 and y[0] < y[-1]:
        y = y[::-1]
    return x, y


def dataset(variables, arrays, grid, like=None):
    """The Dataset of ``variables`` (plan_variables), their values in ``arrays`` (variable name
    -> array: (time, y, x) or (y, x), rows north to south) on ``grid``; with ``like`` (a
    merge_graph template's x and y), those coordinates."""
    import xarray as xr

    transform = geotransform(grid)
    x, y = template_coordinates(grid, like) or cell_centres(grid)
    # x and y carry no CF axis attributes, as rioxarray's: with them GDAL's netCDF driver derives
    # the geotransform from the first and last centres (off in the last bits) instead of
    # reading GeoTransform.
    coords = {
        "y": ("y", y),
        "x": ("x", x),
        GRID_MAPPING: ((), 0, spatial_ref_attrs(grid["crs"], transform)),
    }
    for v in variables:
        if v.time_dim is not None and v.time_dim not in coords:
            coords[v.time_dim] = time_coordinate(v)
    data = {}
    for v in variables:
        dims = ("y", "x") if v.time_dim is None else (v.time_dim, "y", "x")
        data[v.name] = xr.Variable(dims, arrays[v.name], v.attrs)
    ds = xr.Dataset(data, coords=coords)
    for v in variables:
        ds[v.name].encoding.update(fill_encoding(arrays[v.name], v.gdal_type))
        ds[v.name].encoding["grid_mapping"] = GRID_MAPPING
    return ds
