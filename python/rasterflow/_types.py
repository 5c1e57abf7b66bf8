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


def pandas_column(parts, masks, gdal_type, nullable):
    """One DataFrame column from its chunks' native values and nodata masks: integer columns as
    pandas' nullable type (``nullable``) or float64 with NaN, floats of their width with NaN."""
    import pandas as pd
    values = _np.concatenate(parts) if parts else _np.empty(0, dtype=NUMPY.get(gdal_type, "float64"))
    mask = _np.concatenate(masks) if masks else _np.zeros(0, dtype=bool)
    if values.dtype.kind in "iu":
        if nullable:
            return pd.arrays.IntegerArray(values, mask)
        values = values.astype(_np.float64)
    if mask.any():
        values[mask] = _np.nan
    return values
