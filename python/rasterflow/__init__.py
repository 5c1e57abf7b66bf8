"""rasterflow from Python: resample rasters onto one grid, merge them cell by cell, and get the
merged table as a file, as NumPy chunks, as a pandas DataFrame or as an xarray Dataset.

The functions take the same graphs, configuration and options as the ``rasterflow`` command
and keep its contracts (docs/python.md):

    import rasterflow
    summary = rasterflow.run("graph.json", memory_limit="2GiB")   # like `rasterflow run`
    for chunk in rasterflow.chunks(graph):    # dict: column -> 1-D NumPy array, raster order
        ...
    rasterflow.validate(graph), rasterflow.plan(graph)
    rasterflow.to_pandas(graph), rasterflow.to_xarray(graph)
    rasterflow.to_parquet(graph, "table.parquet")   # through parquet_sink
    graph = rasterflow.merge_graph({"t": rasterflow.Source("t.tif", method="average")}, resolution=0.01)

Messages go through ``logging.getLogger("rasterflow")``; ``progress=True`` shows a bar (tqdm) or
a line; ``memory_limit`` is rasterflow's own budget on top of what the process holds.

Errors: bad usage, configuration or graph raise ``UsageError`` (``ConfigError``,
``GraphError``), subclasses of ``ValueError``; failures while running raise ``RunError``
(``IoError``, ``NodeError``), subclasses of ``RuntimeError``; the messages are the command
line's. Ctrl-C raises ``KeyboardInterrupt`` and stops the run, leaving no output under its final
name. The engine works on its own threads without the GIL.
"""
import json as _json
import logging as _logging
import os as _os
import textwrap as _textwrap

from . import _core, _graph, _progress
from ._graph import MergeGraph, Source, merge_graph
from ._core import ConfigError, Error, GraphError, IoError, NodeError, RunError, UsageError

__version__ = _core.version()
_log = _logging.getLogger("rasterflow")  # the engine's messages (set_log_level)
__all__ = [
    "run", "validate", "plan", "chunks", "to_pandas", "to_xarray", "to_parquet", "set_log_level", "RunSummary",
    "Chunks", "Source", "merge_graph", "MergeGraph",
    "Error", "UsageError", "ConfigError", "GraphError", "RunError", "IoError", "NodeError", "__version__",
]

_FLAGS = {f["name"]: f for f in _core.run_flags()}  # the run's flags, declared once (app/run_request.cpp)


def _flag_doc(*names):
    """The docstring lines of these arguments, from the run's flag table: each says what
    ``rasterflow run --help`` says of its flag, then how Python gives it."""
    lines = []
    for name in names:
        f = _FLAGS[name]
        if f["negation"]:
            text = f"True: {f['help']} ({f['cli']}); False: {f['negation_help']} ({f['negation']})."
        else:
            text = f["help"] + (f" ({f['cli']})" if f["cli"].startswith("--") else "")
        note = f["python_note"]
        if note:
            text = text + (" " if note.startswith("(") or text.endswith(".") else ". ") + note
        if not text.endswith("."):
            text += "."
        lines.append(_textwrap.fill(f"{name}: {text}", width=100, initial_indent="    ",
                                    subsequent_indent="        ", break_on_hyphens=False))
    return "\n" + "\n".join(lines)


_COMMON_ARGS = _flag_doc("graph", "config", "set", "base_dir")
_RUN_ARGS = _flag_doc("memory_limit", "process_memory_limit", "threads", "streaming")
_STREAM_ARGS = _flag_doc("memory_limit", "process_memory_limit", "threads")
_DOCS = {"common": _COMMON_ARGS, "run": _RUN_ARGS, "stream": _STREAM_ARGS, "output_dir": _flag_doc("output_dir"),
         "metrics": _flag_doc("database", "experiment")}


def _request(graph, config, set, base_dir, streamed=False):
    """The run request (rasterflow._core.RunRequest) of a graph, its configuration and overrides."""
    r = _core.RunRequest()
    if config is not None:
        r.config = _os.fspath(config)
    if isinstance(graph, dict):
        graph = _graph.jsonable(graph)
        r.graph_json = _json.dumps(_graph.with_placeholder_sink(graph) if streamed else graph)
        if base_dir is not None:
            r.base_dir = _os.fspath(base_dir)
    elif isinstance(graph, (str, bytes, _os.PathLike)):
        r.graph = _os.fsdecode(graph)
    else:
        raise TypeError(f"graph: expected a path or a dict in the graph JSON format, got {type(graph).__name__}")
    if isinstance(set, dict):
        r.set = [f"{k}={_set_value(v)}" for k, v in set.items()]
    elif isinstance(set, str):
        raise TypeError('set: expected a dict or a list of "KEY=VALUE" strings, got a string')
    elif set is not None:
        r.set = [str(s) for s in set]
    return r


def _set_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _run_args(r, memory_limit, threads, streaming, process_memory_limit=None):
    """Sets the run flags that shape a plan on the request `r`; returns it."""
    if memory_limit is not None and process_memory_limit is not None:
        raise UsageError("memory_limit and process_memory_limit: give one of them")
    if memory_limit is not None:
        r.memory_limit = str(memory_limit)
    if process_memory_limit is not None:
        r.process_memory_limit = str(process_memory_limit)
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise TypeError(f"threads: expected an int, got {type(threads).__name__}")
        if threads < 1:
            raise UsageError(f"threads: expected a positive number, got {threads}")
        r.threads = threads
    if streaming is not None:
        r.streaming = 1 if streaming else 0
    return r


RunSummary = _core.RunSummary
RunSummary.__module__ = "rasterflow"


def run(graph, *, config=None, set=None, output_dir=".", memory_limit=None, process_memory_limit=None, threads=None, streaming=True,
        database=None, experiment=None, progress=None, base_dir=None):
    """Runs a graph, as ``rasterflow run`` does; returns a RunSummary.

    Outputs are written as ``<path>.partial`` and renamed when complete: a failed or
    interrupted run (Ctrl-C: KeyboardInterrupt) leaves nothing under the final names.
{common}{output_dir}{run}{metrics}
    progress: True shows the cells' progress (tqdm when installed, else a line on stderr); or a
        callable given a dict of live figures (cells_done, cells_total, rows_written, level,
        window_size, tiles_in_flight, seconds) at most 4 times a second, and once at the end;
        if it raises, the run stops and the exception propagates. None or False: nothing.

    Raises UsageError (ConfigError, GraphError; ValueError subclasses) before anything runs,
    RunError (IoError, NodeError; RuntimeError subclasses) when the run fails, and
    KeyboardInterrupt when interrupted."""
    r = _run_args(_request(graph, config, set, base_dir), memory_limit, threads, streaming, process_memory_limit)
    r.output_dir = _os.fspath(output_dir)
    if database is not None:
        r.database = database
    if experiment is not None:
        r.experiment = experiment
    display = None
    if progress is True:
        progress = display = _progress.RunProgress()
    elif progress is False:
        progress = None
    if progress is not None and not callable(progress):
        raise TypeError("progress: expected True, False, a callable or None")
    try:
        summary = _core.run(r, progress)
    finally:
        if display is not None:
            display.close()
    _log.info("run: %d rows of %d cells in %.2f s, peak RSS %.0f MiB, outputs: %s", summary.rows, summary.cells,
              summary.seconds, summary.peak_rss_bytes / 2**20, ", ".join(summary.outputs) or "none")
    return summary


def validate(graph, *, config=None, set=None, base_dir=None):
    """Checks a graph and its configuration without running it, as ``rasterflow validate``.

    Returns a dict: nodes (count), grid_width, grid_height. Raises UsageError (ConfigError,
    GraphError) with the command line's message when anything is wrong.
{common}"""
    return _core.validate(_request(graph, config, set, base_dir, streamed=True))


def plan(graph, *, config=None, set=None, memory_limit=None, process_memory_limit=None, threads=None, streaming=None, base_dir=None,
         format="json"):
    """The run's plan (grid, tiles, nodes and their options, memory), as ``rasterflow plan``.

    Returns the JSON plan as a dict (``format="json"``, the default), or the text of
    ``--format text`` or ``dot``.
{common}{run}
    format: "json" (a dict), "text" or "dot" (a str)."""
    if format not in ("json", "text", "dot"):
        raise UsageError(f'format: expected "json", "text" or "dot", got "{format}"')
    r = _run_args(_request(graph, config, set, base_dir, streamed=True), memory_limit, threads, streaming,
                  process_memory_limit)
    text = _core.plan(r, format)
    return _json.loads(text) if format == "json" else text


class Chunks:
    """The iterator chunks() returns: the run's chunks (dicts of column -> 1-D NumPy array), one
    per planned tile in raster order, ``len()`` of them. It stops the run when closed, deleted or
    left by ``break`` (with ``with``, on leaving the block). ``plan`` is the run's plan (as
    plan() gives it), ``columns``, ``grid`` and ``count`` (chunks yielded so far) describe it."""

    def __init__(self, stream, masked, progress=False):
        self._stream = stream
        self._masked = masked
        self._state = {"count": 0, "done": False}
        bar = _progress.bar(stream.chunk_count, "chunks", "rasterflow chunks") if progress else None
        # No reference to self in the generator: the iterator is freed (and the run stopped) on `break`.
        self._gen = Chunks._generate(stream, masked, self._state, bar)

    @staticmethod
    def _generate(stream, masked, state, bar):
        import numpy as np
        from ._types import native
        types = dict(zip(stream.columns, stream.column_types))
        try:
            while True:
                try:
                    values, masks = stream.next()
                except StopIteration:
                    return
                del values["_row"], values["_col"]
                if masks is not None:
                    for name, mask in masks.items():
                        values[name] = np.ma.MaskedArray(native(values[name], types.get(name, "")), mask=mask)
                state["count"] += 1
                if bar is not None:
                    bar.update(1)
                yield values
        finally:
            state["done"] = True
            stream.close()
            if bar is not None:
                bar.close()

    def __len__(self):
        """The number of chunks the iterator yields in all (the plan's tiles)."""
        return self._stream.chunk_count

    def __repr__(self):
        g = self._stream.grid
        crs = self.plan["grid"]["crs"]
        state = "finished" if self._state["done"] else f"{self._state['count']} yielded"
        return (f"<rasterflow.Chunks: {len(self)} chunks of up to {self._stream.chunk_rows} rows x {g['width']} "
                f"cells, grid {crs} {g['width']} x {g['height']}, columns {', '.join(self.columns)}"
                f"{' (masked)' if self._masked else ''}; {state}>")

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def send(self, value):
        return self._gen.send(value)

    def throw(self, *args):
        return self._gen.throw(*args)

    def close(self):
        """Stops the run (if still going) and waits for its threads."""
        self._gen.close()
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def count(self):
        """How many chunks were yielded so far."""
        return self._state["count"]

    @property
    def plan(self):
        """The run's plan as a dict (grid, tiles, nodes, memory), as plan() gives it."""
        return _json.loads(self._stream.plan_json)

    @property
    def columns(self):
        """The merged columns' names (x and y come first in every chunk)."""
        return self._stream.columns

    @property
    def grid(self):
        """The target grid: crs (WKT), x0 (west edge), y0 (north edge), res_x, res_y, width, height."""
        return self._stream.grid


def _stream(graph, config, set, memory_limit, threads, base_dir, masked, sink, prefetch, process_memory_limit=None):
    r = _run_args(_request(graph, config, set, base_dir, streamed=True), memory_limit, threads, True,
                  process_memory_limit)
    if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
        raise UsageError(f"prefetch: expected a positive number of chunks, got {prefetch!r}")
    return _core.Stream(r, bool(masked), sink or "", prefetch)


def chunks(graph, *, config=None, set=None, memory_limit=None, process_memory_limit=None, threads=None, masked=False, sink=None, prefetch=2,
           base_dir=None, progress=False):
    """Streams the merged table into Python: yields, per tile in raster order (north to south,
    west to east), a dict of column name -> 1-D NumPy array of the rows the merge keeps (the
    rows of the CSV, in its order): ``x`` and ``y`` (float64 cell centres, as the CSV writes
    them), then one array per merged column.

    Nodata: with ``masked=False`` (the default) integer columns are float64 and nodata is NaN
    (float32 columns stay float32, with NaN), as pandas and xarray hold gaps; with
    ``masked=True`` every column is a ``numpy.ma.MaskedArray`` of the column's own type (uint8
    for Byte, int16 for Int16, ... float32, float64) masked where the cell is nodata.

    The graph's sinks do not run: the chunks take their place, reading what they read (with
    several sinks reading different tables, ``sink`` names the one). Nothing is written and no
    metrics are recorded.

    Memory stays within the engine's budget however slowly the loop consumes: at most
    ``prefetch`` chunks wait for Python, and the engine waits while they do. Breaking out of the
    loop, ``close()``, deleting the iterator or leaving a ``with`` block stops the run and its
    threads; Ctrl-C raises KeyboardInterrupt and stops it too. The graph is validated when
    chunks() is called (UsageError then); a failure while running raises RunError from the loop.
{common}{stream}
    masked: False (NaN for nodata) or True (masked arrays keeping each column's type).
    sink: the id of the sink whose input is streamed (only needed when sinks read different nodes).
    prefetch: how many chunks may wait for the loop (default 2).
    progress: True shows the chunks' progress (tqdm when installed, else a line on stderr).

    Returns a Chunks iterator: ``len()`` is the number of chunks it yields (one per planned tile;
    tiles the engine splits under memory pressure are joined again), ``plan`` the run's plan."""
    show = _progress.check(progress)
    stream = _stream(graph, config, set, memory_limit, threads, base_dir, masked, sink, prefetch, process_memory_limit)
    return Chunks(stream, masked, show)


_Chunks = Chunks  # the name before #31


def to_pandas(graph, *, config=None, set=None, memory_limit=None, process_memory_limit=None, threads=None, sink=None, base_dir=None,
              nullable=True, progress=False):
    """The merged table as a pandas DataFrame (pandas must be installed): columns x, y and the
    merged columns, one row per kept cell in raster order, the same rows and values as the CSV.
    Columns keep their types: integer columns are pandas' nullable integers of their own width
    (``UInt8`` for Byte, ``Int16``...; ``<NA>`` for nodata), float columns float32 or float64
    with NaN for nodata.

    ``df.attrs`` holds ``crs`` (the grid's WKT) and, from the sources, ``units``, ``long_name``
    and ``standard_name``: each a dict of column -> value, for the columns that have one.

    The whole table is held in memory; for grids larger than memory, use chunks().
{common}{stream}
    sink: as in chunks().
    nullable: True (the default): integer columns as pandas' nullable integer types; False:
        integer columns as float64 with NaN for nodata.
    progress: True shows the chunks' progress (tqdm when installed, else a line on stderr)."""
    show = _progress.check(progress)
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("rasterflow.to_pandas needs pandas (Debian: python3-pandas)") from e
    from ._types import TableBuilder
    stream = _stream(graph, config, set, memory_limit, threads, base_dir, True, sink, 2, process_memory_limit)
    g = stream.grid
    table = TableBuilder(list(stream.columns), list(stream.column_types), g["width"] * g["height"], nullable)
    attrs = _frame_attrs(stream)
    with Chunks(stream, True, show) as it:
        for chunk in it:
            table.add(chunk)
    df = table.frame()
    df.attrs.update(attrs)
    return df


def _frame_attrs(stream):
    """A DataFrame's ``attrs``: ``crs`` (the grid's WKT: x and y are in it) and, per CF attribute
    (units, long_name, standard_name), a dict of column -> value for the columns whose source
    gives one (#30)."""
    attrs = {"crs": stream.grid["crs"]}
    for key in ("units", "long_name", "standard_name"):
        given = {n: m[key] for n, m in zip(stream.columns, stream.column_metadata) if m.get(key)}
        if given:
            attrs[key] = given
    return attrs


_TABLE_SINKS = ("csv_sink", "parquet_sink", "postgres_sink")


def _parquet_graph(graph, path, sink, options):
    """The graph with its table sinks replaced by one parquet_sink writing `path`."""
    g = dict(graph)
    sinks = [n for n in g.get("nodes", []) if n.get("type") in _TABLE_SINKS and (sink is None or n.get("id") == sink)]
    tables = {tuple(n.get("inputs", [])) for n in sinks}
    if not sinks:
        raise UsageError(f"to_parquet: the graph has no table sink{'' if sink is None else ' ' + repr(sink)} "
                         f"(one of {', '.join(_TABLE_SINKS)}) whose input to write")
    if len(tables) > 1:
        raise UsageError("to_parquet: the graph's table sinks read different nodes; name one with sink=")
    ids = {n.get("id") for n in g["nodes"]}
    node_id = "parquet"
    while node_id in ids:
        node_id += "_"
    node = {"id": node_id, "type": "parquet_sink", "inputs": list(sinks[0]["inputs"]), "path": path}
    node.update({k: v for k, v in options.items() if v is not None})
    g["nodes"] = [n for n in g["nodes"] if not str(n.get("type", "")).endswith("_sink")] + [node]
    return g


def to_parquet(graph, path, *, compression=None, compression_level=None, row_group_size=None, geometry=None,
               bbox=None, config=None, set=None, memory_limit=None, process_memory_limit=None, threads=None,
               sink=None, base_dir=None):
    """Writes the merged table as a Parquet file through the engine's parquet_sink (docs/parquet.md):
    columns x, y and the merged columns in their own types (nodata as null), the same rows and
    values as the CSV, written as ``<path>.partial`` and renamed when complete. The graph's table
    sinks (csv_sink, parquet_sink, postgres_sink; ``sink`` names one when they read different
    nodes) are replaced by this one, and its other sinks do not run. Returns a RunSummary.

    compression ("zstd", "snappy", "gzip", "none"), compression_level, row_group_size,
    geometry ("none" or "point": GeoParquet 1.1) and bbox are parquet_sink's options; None: its
    defaults. Metrics are recorded as by run() (by default in rasterflow_metrics.sqlite beside
    the file; ``set={{"metrics.backend": "none"}}`` records none).
{common}{stream}
    sink: as in chunks()."""
    if isinstance(graph, dict):
        g = graph
    elif isinstance(graph, (str, bytes, _os.PathLike)):
        graph_path = _os.fsdecode(graph)
        with open(graph_path, encoding="utf-8") as f:
            g = _json.load(f)
        if base_dir is None:
            base_dir = _os.path.dirname(_os.path.abspath(graph_path))
    else:
        raise TypeError(f"graph: expected a path or a dict in the graph JSON format, got {type(graph).__name__}")
    target = _os.path.abspath(_os.fsdecode(path))
    options = {"compression": compression, "compression_level": compression_level,
               "row_group_size": row_group_size, "geometry": geometry, "bbox": bbox}
    g = _parquet_graph(g, _os.path.basename(target), sink, options)
    return run(g, config=config, set=set, output_dir=_os.path.dirname(target), memory_limit=memory_limit,
               process_memory_limit=process_memory_limit, threads=threads, base_dir=base_dir)


def to_xarray(graph, *, config=None, set=None, memory_limit=None, process_memory_limit=None, threads=None, sink=None, base_dir=None,
              progress=False, layout="auto"):
    """The merged table as an xarray Dataset on the grid (xarray must be installed), ready to
    join with rioxarray's arrays: dimensions ``y`` (north to south) and ``x``, their coordinates
    the cell centres computed from the grid's transform exactly as rioxarray computes them; one
    variable per merged column (float32 for Float32 and for integer columns of up to 16 bits,
    float64 otherwise), NaN for nodata and for the cells the merge drops; the CRS as the
    ``spatial_ref`` coordinate (``crs_wkt``, ``spatial_ref``, ``GeoTransform`` and, with pyproj,
    CF's grid mapping attributes) that every variable's ``grid_mapping`` encoding names, and
    ``_FillValue`` encodings (integer columns are written back as their own type), so that
    ``ds.x.rio.crs`` and ``ds.to_netcdf()`` (opened by GDAL with its CRS and geotransform) work.

    Each variable carries its source's ``units``, ``long_name`` and ``standard_name`` attributes
    (when the source has them). The columns that are the time steps of one source variable
    (a NetCDF/GRIB variable read with ``band: all``) become one variable named after its
    resample node, with a ``time`` dimension whose coordinate is decoded as ``xarray.decode_cf``
    decodes the source's (datetime64, or cftime objects for calendars NumPy cannot hold).

    Refused with UsageError when the Dataset would not fit the memory limit (its bytes above
    ``memory.warning_threshold`` of the limit): use chunks() then.
{common}{stream}
    sink: as in chunks().
    progress: True shows the chunks' progress (tqdm when installed, else a line on stderr).
    layout: "auto" (the default): a source variable's time steps become one variable with a
        time dimension (when it has several, each with its own time), other columns a variable
        each; "columns": a variable per merged column, as before #30; "time": as "auto", and a
        single time step too gets a time dimension, and columns with times that cannot be
        stacked (a level dimension besides time, mixed units) are refused naming why."""
    show = _progress.check(progress)
    try:
        import xarray  # noqa: F401
    except ImportError as e:
        raise ImportError("rasterflow.to_xarray needs xarray (Debian: python3-xarray)") from e
    from . import _xarray
    if layout not in _xarray.LAYOUTS:
        raise UsageError(f'layout: expected "auto", "columns" or "time", got {layout!r}')
    stream = _stream(graph, config, set, memory_limit, threads, base_dir, False, sink, 2, process_memory_limit)
    try:
        g = stream.grid
        types = dict(zip(stream.columns, stream.column_types))
        metadata = dict(zip(stream.columns, stream.column_metadata))
        try:
            variables = _xarray.plan_variables(list(stream.columns), types, metadata, layout)
        except ValueError as e:
            raise UsageError(f"to_xarray: {e}") from None
        arrays = _grid_arrays(stream, g, variables, show)
    finally:
        stream.close()
    return _xarray.dataset(variables, arrays, g, getattr(graph, "like_coordinates", None))


_NARROW_TYPES = ("Byte", "Int8", "UInt16", "Int16", "Float32")  # exact in float32


def _grid_arrays(stream, g, variables, show):
    """Fills one NaN array per variable, (height, width) or (steps, height, width), from the
    stream's chunks; allocated once, so the peak stays near the Dataset's own size."""
    import numpy as np
    width, height = g["width"], g["height"]
    dtypes = {v.name: np.float32 if v.gdal_type in _NARROW_TYPES else np.float64 for v in variables}
    needed = sum(width * height * len(v.columns) * np.dtype(dtypes[v.name]).itemsize for v in variables)
    needed += (width + height) * 8
    allowed = stream.memory_limit * stream.warning_threshold
    if needed > allowed:
        raise UsageError(
            f"to_xarray: the grid of {width} x {height} cells with {len(stream.columns)} columns needs "
            f"{needed / 2**20:.0f} MiB as a Dataset, more than the memory limit allows "
            f"({stream.warning_threshold:.0%} of {stream.memory_limit / 2**20:.0f} MiB); "
            "use rasterflow.chunks() to stream it, or raise memory_limit")
    arrays, views = {}, {}
    for v in variables:
        shape = (height, width) if v.time_dim is None else (len(v.columns), height, width)
        arrays[v.name] = np.full(shape, np.nan, dtype=dtypes[v.name])
        for k, column in enumerate(v.columns):
            views[column] = arrays[v.name] if v.time_dim is None else arrays[v.name][k]
    bar = _progress.bar(stream.chunk_count, "chunks", "rasterflow to_xarray") if show else None
    try:
        while True:
            try:
                values, _ = stream.next()
            except StopIteration:
                break
            rows, cols = values["_row"], values["_col"]
            for n, a in views.items():
                a[rows, cols] = values[n]
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return arrays


_LEVEL_ALIASES = {"trace": 5, "warn": _logging.WARNING}


def set_log_level(level):
    """The level of the ``rasterflow`` logger (Python's ``logging``, where the engine's messages
    go): a standard level name ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", any case), a
    level number (``logging.INFO``), or the command line's "trace" (5, below DEBUG) and "warn".
    Equivalent to ``logging.getLogger("rasterflow").setLevel(...)``; the engine skips the
    messages below it. Without a configured handler, logging prints WARNING and above to
    sys.stderr (a notebook shows them in the cell)."""
    if isinstance(level, bool):
        raise TypeError("level: expected a level name or number, got a bool")
    if isinstance(level, int):
        number = level
    elif isinstance(level, str):
        key = level.strip()
        number = _LEVEL_ALIASES.get(key.lower())
        if number is None:
            named = _logging.getLevelName(key.upper())
            number = named if isinstance(named, int) else None
        if number is None:
            raise UsageError(f'level: unknown level "{level}" (expected DEBUG, INFO, WARNING, ERROR, CRITICAL, '
                             'a number, or trace/warn)')
    else:
        raise TypeError(f"level: expected a level name or number, got {type(level).__name__}")
    _log.setLevel(number)


for _f in (run, validate, plan, chunks, to_pandas, to_xarray, to_parquet):
    _f.__doc__ = _f.__doc__.format(**_DOCS)
del _f
