"""Column types from Python: each merged column's GDAL data type as NumPy and pandas hold it
(docs/python.md, "Types")."""
import numpy as _np

# GDAL data type name -> NumPy dtype of its values.
NUMPY = {
    "Byte": "uint8", "Int8": "int8", "UInt16": "uint16", "Int16": "int16", "UInt32": "uint32",
    "Int32": "int32", "UInt64": "uint64", "Int64": "int64", "Float32": "float32", "Float64": "float64",
}
# pandas' nullable integer dtypes, by GDAL data type name.
NULLABLE = {
    "Byte": "UInt8", "Int8": "Int8", "UInt16": "UInt16", "Int16": "Int16", "UInt32": "UInt32",
    "Int32": "Int32", "UInt64": "UInt64", "Int64": "Int64",
}


def native(values, gdal_type):
    """An integer column's values (int64 from the engine) as the column's own type (exact: the
    values are of that type)."""
    dtype = NUMPY.get(gdal_type)
    if dtype is None or values.dtype.kind == "f" or values.dtype == dtype:
        return values
    return values.astype(dtype)


class TableBuilder:
    """to_pandas' table, filled chunk by chunk into arrays allocated once for every cell of the
    grid (the most rows the merge can keep; pages never written take no memory), then handed to
    pandas column by column, so the peak stays near the DataFrame's own size."""

    def __init__(self, names, types, cells, nullable):
        self.names, self.types, self.nullable, self.rows = names, dict(zip(names, types)), nullable, 0
        self.values = {"x": _np.empty(cells), "y": _np.empty(cells)}
        self.masks = {}
        for n in names:
            dtype = NUMPY.get(self.types[n], "float64")
            if not nullable and _np.dtype(dtype).kind in "iu":
                dtype = "float64"
            self.values[n] = _np.empty(cells, dtype=dtype)
            if _np.dtype(dtype).kind in "iu":
                self.masks[n] = _np.empty(cells, dtype=bool)

    def add(self, chunk):
        """Copies a masked chunk's rows in (nodata: the mask, or NaN for float columns)."""
        start, end = self.rows, self.rows + len(chunk["x"])
        for n, a in self.values.items():
            column = chunk[n]
            if n in self.masks:
                a[start:end] = _np.ma.getdata(column)
                self.masks[n][start:end] = _np.ma.getmaskarray(column)
            elif isinstance(column, _np.ma.MaskedArray):
                a[start:end] = column.filled(_np.nan) if column.dtype.kind == "f" else column.astype(a.dtype).filled(
                    _np.nan)
            else:
                a[start:end] = column
        self.rows = end

    def frame(self):
        """The DataFrame; each array is released as soon as pandas holds its column."""
        import pandas as pd
        rows = self.rows
        df = pd.DataFrame(index=pd.RangeIndex(rows))
        for n in list(self.values):
            values = self.values.pop(n)[:rows]
            if n in self.masks:
                df[n] = pd.arrays.IntegerArray(values, self.masks.pop(n)[:rows])
            else:
                df[n] = values
            del values
        return df
