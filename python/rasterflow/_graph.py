"""Graphs from Python: dict graphs holding Python values (paths, NumPy numbers, CRS objects), and
a merge described without JSON or a sink (docs/python.md, "A merge described in Python")."""
import os as _os
from numbers import Integral as _Integral, Real as _Real

import numpy as _np


def _where(path):
    """``node "id": field "f"`` / ``grid: field "f"`` / ``field "f"`` for a key path."""
    if len(path) >= 3 and path[0] == "nodes":
        return f'node "{path[1]}": field "{".".join(map(str, path[2:]))}"'
    if path and path[0] == "grid":
        return f'grid: field "{".".join(map(str, path[1:]))}"'
    return f'field "{".".join(map(str, path))}"'


def jsonable(value, path=()):
    """``value`` with Python values turned into JSON ones: os.PathLike -> str, NumPy scalars ->
    int/float/bool, anything with to_wkt() (pyproj, rasterio, osgeo CRS objects) -> its WKT,
    tuples and 1-D arrays -> lists. Anything else: TypeError naming the key."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, _os.PathLike):
        return _os.fspath(value)
    if isinstance(value, dict):
        return _dict(value, path)
    if isinstance(value, (list, tuple)):
        return [jsonable(v, path + (i,)) for i, v in enumerate(value)]
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # NumPy scalar
        return jsonable(value.item(), path)
    if getattr(value, "ndim", None) == 1 and hasattr(value, "tolist"):
        return jsonable(value.tolist(), path)
    if isinstance(value, _Integral):
        return int(value)
    if isinstance(value, _Real):
        return float(value)
    to_wkt = getattr(value, "to_wkt", None) or getattr(value, "ExportToWkt", None)
    if callable(to_wkt):
        return to_wkt()
    raise TypeError(f"<dict>: {_where(path)}: a {type(value).__name__} is not a graph value (expected a number, "
                    "string, path, list, dict, or a CRS object with to_wkt())")


def _dict(value, path):
    out = {}
    nodes = path == () and isinstance(value.get("nodes"), (list, tuple))
    for k, v in value.items():
        if not isinstance(k, str):
            raise TypeError(f"<dict>: {_where(path + (k,))}: keys must be strings, got {type(k).__name__}")
        if nodes and k == "nodes":
            out[k] = [jsonable(n, ("nodes", n.get("id", i) if isinstance(n, dict) else i)) for i, n in enumerate(v)]
        else:
            out[k] = jsonable(v, path + (k,))
    return out


def with_placeholder_sink(graph):
    """A dict graph without a sink, with a csv_sink (never run by chunks()) reading its one
    terminal node: chunks(), to_pandas() and to_xarray() take the sink's place."""
    nodes = graph.get("nodes")
    if not isinstance(nodes, list) or any(str(n.get("type", "")).endswith("_sink") for n in nodes):
        return graph
    read = {i for n in nodes for i in (n.get("inputs") or [])}
    terminal = [n["id"] for n in nodes if "id" in n and n["id"] not in read]
    if len(terminal) != 1:
        return graph  # the engine's own message names the problem
    sink = {"id": "_python_chunks", "type": "csv_sink", "inputs": terminal, "path": "_python_chunks.csv"}
    return dict(graph, nodes=nodes + [sink])


class Source:
    """A source of a merge described in Python: a raster path (str or os.PathLike; any GDAL
    dataset name) resampled with ``method`` ("nearest", "bilinear", "average", ... as the
    resample node takes them), and raster_source's options (band, nodata, crs, variable, ...)."""

    def __init__(self, path, method="nearest", **options):
        self.path = path
        self.method = method
        self.options = options

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Source({_os.fspath(self.path)!r}, method={self.method!r}{extra})"


class MergeGraph(dict):
    """merge_graph()'s result: a graph dict (the graph JSON format). Made ``like=`` an xarray
    object, it also holds that object's coordinates (``like_coordinates``: x and y arrays in
    its order), which to_xarray() puts on its Dataset as rioxarray's reproject_match puts the
    template's; a copy made with ``dict(g)`` is a plain graph and loses them."""

    like_coordinates = None


def _xarray_like(like):
    """The grid of an xarray object with a CRS (rioxarray's ``rio`` accessor), exactly as
    rioxarray's reproject_match takes it: ``rio.transform(recalc=True)`` (from the coordinates)
    and ``rio.shape``, as crs/resolution/origin/extent; and its x and y coordinates."""
    rio = like.rio
    if rio.crs is None:
        raise ValueError("like: the xarray object has no CRS (rio.crs is None); set one with rio.write_crs()")
    t = rio.transform(recalc=True)
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e == 0:
        raise ValueError(f"like: a grid without rotation, west to east, is needed; got the transform {tuple(t)[:6]}")
    height, width = rio.shape
    res_x, res_y = t.a, abs(t.e)
    # A south-up template (y ascending): the same cells, the grid runs north to south.
    top = t.f if t.e < 0 else t.f + height * t.e
    extent = [t.c, top - height * res_y, t.c + width * res_x, top]
    grid = {"crs": rio.crs.to_wkt(), "resolution": [res_x, res_y], "origin": [t.c, top], "extent": extent}
    x, y = like[rio.x_dim].values.copy(), like[rio.y_dim].values.copy()
    # Cells of the transform labelled by coordinates far from their centres would be wrong
    # values under right-looking labels: irregular coordinates are refused (reproject_match
    # takes them silently).
    for name, values, centres, res in (("x", x, t.c + (_np.arange(width) + 0.5) * t.a, res_x),
                                       ("y", y, t.f + (_np.arange(height) + 0.5) * t.e, res_y)):
        off = float(_np.max(_np.abs(values.astype("float64") - centres))) / res if len(values) else 0.0
        if off > 1e-3:
            raise ValueError(f"like: the {name} coordinates are not evenly spaced (one is {off:.3g} cells from the "
                             "centre the transform gives it): rasterflow makes regular grids")
    return grid, (x, y)


def like_grid(like, sources=None):
    """The graph grid that is ``like``'s grid (rioxarray's reproject_match in one call) and the
    template's coordinates (None unless ``like`` is an xarray object). ``like``: an xarray object
    with a CRS (rioxarray), a raster path (the engine's ``"like"``: its geotransform, size and
    CRS), or a Source (one of ``sources``: its node, with its options such as crs; another: its
    path)."""
    if getattr(like, "rio", None) is not None and hasattr(like, "dims"):
        return _xarray_like(like)
    if isinstance(like, Source):
        for column, spec in (sources or {}).items():
            if spec is like:
                return {"like": f"{column}_src"}, None
        return {"like": _os.fspath(like.path)}, None
    if isinstance(like, (str, _os.PathLike)):
        return {"like": _os.fspath(like)}, None
    raise TypeError(f"like: expected an xarray object with a CRS (rioxarray), a raster path or a Source, got "
                    f"{type(like).__name__}")


def merge_graph(sources, crs=None, resolution=None, extent=None, output=None, name="python_merge", like=None):
    """The graph of a merge of ``sources`` (column name -> path, (path, method) or Source) onto
    the grid given by crs / resolution / extent, or by ``like`` (an xarray object carrying a CRS
    and transform, a raster path or a Source: its grid exactly, whatever its origin, as
    rioxarray's reproject_match); with ``output``, a sink writing it (a .csv path: csv_sink; any
    other: raster_sink). Returns a MergeGraph (a dict)."""
    if like is not None and (crs, resolution, extent) != (None, None, None):
        raise ValueError("like: give either like or crs/resolution/extent")
    if not isinstance(sources, dict) or not sources:
        raise TypeError("sources: expected a dict of column name -> path, (path, method) or Source")
    nodes, columns = [], []
    for column, spec in sources.items():
        if isinstance(spec, tuple) and len(spec) == 2:
            spec = Source(spec[0], spec[1])
        elif not isinstance(spec, Source):
            spec = Source(spec)
        nodes.append({"id": f"{column}_src", "type": "raster_source", "path": spec.path, **spec.options})
        nodes.append({"id": column, "type": "resample", "inputs": [f"{column}_src"], "method": spec.method})
        columns.append(column)
    nodes.append({"id": "merged", "type": "merge", "inputs": columns})
    if output is not None:
        csv = _os.fspath(output).lower().endswith((".csv", ".csv.gz", ".csv.zst"))
        nodes.append({"id": "output", "type": "csv_sink" if csv else "raster_sink", "inputs": ["merged"],
                      "path": output})
    grid = {k: v for k, v in (("crs", crs), ("resolution", resolution), ("extent", extent)) if v is not None}
    graph = MergeGraph(name=name, grid=grid, nodes=nodes)
    if like is not None:
        graph["grid"], graph.like_coordinates = like_grid(like, sources)
    return graph
