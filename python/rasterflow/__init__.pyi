# Type stubs of the rasterflow package (#31): the whole public API, checked by mypy in CTest
# (Python.MypyStubs). Keep in step with __init__.py.
import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, bytes, "os.PathLike[str]"]
Graph = Union[str, bytes, "os.PathLike[str]", Dict[str, Any]]
Settings = Union[Mapping[str, Any], Sequence[str], None]
Size = Union[str, int, None]
Chunk = Dict[str, "npt.NDArray[Any]"]

class Error(Exception): ...
class UsageError(Error, ValueError): ...
class ConfigError(UsageError): ...
class GraphError(UsageError): ...
class RunError(Error, RuntimeError): ...
class IoError(RunError): ...
class NodeError(RunError): ...

class RunSummary:
    rows: int
    cells: int
    seconds: float
    peak_rss_bytes: int
    throttle_events: List[Dict[str, Any]]
    outputs: List[str]
    experiment_id: Optional[int]
    tiles: int
    grid_width: int
    grid_height: int
    cpu_seconds: float
    memory_limit: int
    threads: int
    streaming: bool
    bytes_written: int
    rows_written: int
    wall_seconds: float
    resumed_at_row: int

class Chunks(Iterator[Chunk]):
    def __iter__(self) -> "Chunks": ...
    def __next__(self) -> Chunk: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> "Chunks": ...
    def __exit__(self, *exc: object) -> None: ...
    def close(self) -> None: ...
    @property
    def count(self) -> int: ...
    @property
    def plan(self) -> Dict[str, Any]: ...
    @property
    def columns(self) -> List[str]: ...
    @property
    def grid(self) -> Dict[str, Any]: ...

class Source:
    path: PathLike
    method: str
    options: Dict[str, Any]
    def __init__(self, path: PathLike, method: str = ..., **options: Any) -> None: ...

class MergeGraph(Dict[str, Any]):
    like_coordinates: Optional[Tuple["npt.NDArray[Any]", "npt.NDArray[Any]"]]

def merge_graph(sources: Mapping[str, Union[PathLike, Tuple[PathLike, str], Source]], crs: Any = ...,
                resolution: Union[float, Sequence[float], None] = ..., extent: Union[str, Sequence[float], None] = ...,
                output: Optional[PathLike] = ..., name: str = ..., like: Any = ...) -> MergeGraph: ...

def run(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ..., output_dir: PathLike = ...,
        memory_limit: Size = ..., process_memory_limit: Size = ..., threads: Optional[int] = ...,
        streaming: Optional[bool] = ..., database: Optional[str] = ..., experiment: Optional[str] = ...,
        progress: Union[bool, Callable[[Dict[str, Any]], object], None] = ...,
        base_dir: Optional[PathLike] = ...) -> RunSummary: ...
def validate(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ...,
             base_dir: Optional[PathLike] = ...) -> Dict[str, int]: ...
def plan(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ..., memory_limit: Size = ...,
         process_memory_limit: Size = ..., threads: Optional[int] = ..., streaming: Optional[bool] = ...,
         base_dir: Optional[PathLike] = ..., format: str = ...) -> Any: ...
def chunks(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ..., memory_limit: Size = ...,
           process_memory_limit: Size = ..., threads: Optional[int] = ..., masked: bool = ...,
           sink: Optional[str] = ..., prefetch: int = ..., base_dir: Optional[PathLike] = ...,
           progress: bool = ...) -> Chunks: ...
def to_pandas(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ..., memory_limit: Size = ...,
              process_memory_limit: Size = ..., threads: Optional[int] = ..., sink: Optional[str] = ...,
              base_dir: Optional[PathLike] = ..., nullable: bool = ..., progress: bool = ...) -> Any: ...
def to_xarray(graph: Graph, *, config: Optional[PathLike] = ..., set: Settings = ..., memory_limit: Size = ...,
              process_memory_limit: Size = ..., threads: Optional[int] = ..., sink: Optional[str] = ...,
              base_dir: Optional[PathLike] = ..., progress: bool = ..., layout: str = ...) -> Any: ...
def to_parquet(graph: Graph, path: PathLike, *, compression: Optional[str] = ..., compression_level: Optional[int] = ...,
               row_group_size: Optional[int] = ..., geometry: Optional[str] = ..., bbox: Optional[bool] = ...,
               config: Optional[PathLike] = ..., set: Settings = ..., memory_limit: Size = ...,
               process_memory_limit: Size = ..., threads: Optional[int] = ..., sink: Optional[str] = ...,
               base_dir: Optional[PathLike] = ...) -> RunSummary: ...
def set_log_level(level: Union[str, int]) -> None: ...
