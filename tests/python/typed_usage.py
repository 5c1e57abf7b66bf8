"""Checked by mypy against rasterflow's stubs (CTest Python.MypyStubs): the documented API used as
a typed program would use it. A call the stubs do not allow fails the check."""
import logging
import pathlib
from typing import Dict

import numpy as np

import rasterflow


def mean_temperature(graph: Dict[str, object]) -> float:
    total, count = 0.0, 0
    it: rasterflow.Chunks = rasterflow.chunks(graph, memory_limit="256MiB", progress=False)
    planned: int = len(it)
    for chunk in it:
        values = chunk["temperature"]
        total += float(np.nansum(values))
        count += int(values.size)
    assert it.count <= planned
    return total / max(count, 1)


def main(data: pathlib.Path) -> None:
    graph = rasterflow.merge_graph({"temperature": rasterflow.Source(data / "temperature.tif", method="average"),
                                    "landcover": (data / "landcover.tif", "nearest")},
                                   crs="EPSG:4326", resolution=0.05)
    rasterflow.set_log_level(logging.INFO)
    rasterflow.set_log_level("WARNING")
    summary: rasterflow.RunSummary = rasterflow.run(graph, output_dir=data, progress=True, threads=2)
    rows: int = summary.rows
    print(rows, mean_temperature(graph), rasterflow.validate(graph)["nodes"], rasterflow.__version__)
    like = rasterflow.merge_graph({"temperature": data / "temperature.tif"}, like=data / "landcover.tif")
    assert like.like_coordinates is None
    print(rasterflow.to_xarray(like, layout="columns"))
    try:
        rasterflow.plan(graph, process_memory_limit=1 << 30, format="text")
    except rasterflow.UsageError as e:
        print(e)
