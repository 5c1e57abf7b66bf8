"""Graphs from Python: dict graphs holding Python values (paths, NumPy numbers, CRS objects), and
a merge described without JSON or a sink (docs/python.md, "A merge described in Python")."""
import os as _os
from numbers import Integral as _Integral, Real as _Real


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


def _like_grid(like):
    """crs (WKT), geotransform and shape of ``like``: an xarray object with rioxarray's ``rio``
    accessor (CRS and transform), or a raster path (through GDAL's Python bindings)."""
    rio = getattr(like, "rio", None)
    if rio is not None:
        if rio.crs is None:
            raise ValueError("like: the xarray object has no CRS (rio.crs is None)")
        return rio.crs.to_wkt(), tuple(rio.transform().to_gdal()), (rio.height, rio.width)
    if isinstance(like, (str, _os.PathLike)):
        from osgeo import gdal
        ds = gdal.Open(_os.fspath(like))
        if ds is None:
            raise ValueError(f"like: {_os.fspath(like)}: GDAL cannot open it")
        return ds.GetProjection(), tuple(ds.GetGeoTransform()), (ds.RasterYSize, ds.RasterXSize)
    raise TypeError(f"like: expected an xarray object with a CRS (rioxarray) or a raster path, got "
                    f"{type(like).__name__}")


def like_grid(like):
    """The graph grid that is ``like``'s grid (rioxarray's reproject_match in one call). Refused
    when the engine cannot make that grid exactly: rotated transforms, or an origin that is not a
    whole multiple of the resolution (the engine snaps extents to multiples, as gdalwarp -tap;
    arbitrary origins need the grid origin/like work of #28)."""
    wkt, (x0, rx, xr, y0, yr, ry), (height, width) = _like_grid(like)
    if xr != 0 or yr != 0 or rx <= 0 or ry >= 0:
        raise ValueError(f"like: a north-up grid without rotation is needed, got the geotransform "
                         f"{(x0, rx, xr, y0, yr, ry)}")
    for name, edge, res in (("west", x0, rx), ("north", y0, -ry)):
        cells = edge / res
        if abs(cells - round(cells)) > 1e-9:
            raise ValueError(f"like: the {name} edge {edge!r} is not a whole multiple of the resolution {res!r}: "
                             "not implemented yet (the engine snaps grids to multiples of the resolution; an "
                             "arbitrary origin needs the grid origin work of #28)")
    extent = [x0, y0 + height * ry, x0 + width * rx, y0]
    return {"crs": wkt, "resolution": [rx, -ry], "extent": extent}


def merge_graph(sources, crs=None, resolution=None, extent=None, output=None, name="python_merge", like=None):
    """The graph of a merge of ``sources`` (column name -> path, (path, method) or Source) onto
    the grid given by crs / resolution / extent, or by ``like`` (an xarray object carrying a CRS
    and transform, or a raster path: its grid exactly, as rioxarray's reproject_match); with
    ``output``, a sink writing it (a .csv path: csv_sink; any other: raster_sink)."""
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
    if like is not None:
        grid = like_grid(like)
    return {"name": name, "grid": grid, "nodes": nodes}
