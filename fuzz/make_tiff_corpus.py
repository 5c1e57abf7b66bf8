#!/usr/bin/python3
"""Writes the seed corpus of fuzz_tiff (fuzz/corpus/tiff/): small GeoTIFFs that
TiffTileStreams takes (tiled 32 x 32 or 48 x 48, or strips of 32 rows; DEFLATE or none;
predictors 1, 2, 3; little and big endian; classic and BigTIFF; one or two band-interleaved
bands; sizes that leave partial tiles at the right and bottom; one-row strips and 1 x 1 blocks).

Needs GDAL's Python bindings (Debian: python3-gdal), hence /usr/bin/python3:
    /usr/bin/python3 fuzz/make_tiff_corpus.py [output directory]
Check that each seed is taken by the reader (not refused) with
    RASTERFLOW_FUZZ_TIFF_VERBOSE=1 build-asan/fuzz/fuzz_tiff fuzz/corpus/tiff/*.tif
Files named regress-*.tif are inputs the fuzzer found; this script leaves them alone.
"""
import math
import os
import struct
import sys

from osgeo import gdal

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")  # no .aux.xml beside the seeds

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "tiff")

# (GDAL type, struct code, integer?, range of integers)
TYPES = {
    "Byte": (gdal.GDT_Byte, "B", True, (0, 255)),
    "Int16": (gdal.GDT_Int16, "h", True, (-32768, 32767)),
    "UInt16": (gdal.GDT_UInt16, "H", True, (0, 65535)),
    "Int32": (gdal.GDT_Int32, "i", True, (-(2**31), 2**31 - 1)),
    "Float32": (gdal.GDT_Float32, "f", False, None),
    "Float64": (gdal.GDT_Float64, "d", False, None),
}


def samples(type_name, width, height, band):
    """Values that vary (DEFLATE and the predictors have work), with a little noise."""
    _, code, integer, bounds = TYPES[type_name]
    seed = 12345 + band
    out = []
    for y in range(height):
        for x in range(width):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            noise = (seed >> 16) % 5
            if integer:
                lo, hi = bounds
                v = (x * 3 + y * 5 + band * 17 + noise + (x * y) % 7) % min(hi - lo + 1, 4000)
                out.append(v + (lo if lo < 0 and x % 2 else 0))
            else:
                # Sixteenths: exact in binary, so DEFLATE keeps the seeds small.
                v = 100.0 * math.sin(x / 7.0 + band) * math.cos(y / 5.0) + noise * 0.125 - 3.5
                out.append(round(v * 16.0) / 16.0)
    return struct.pack("=" + code * len(out), *out)


def make(name, width, height, type_name, bands=1, **options):
    gdal_type = TYPES[type_name][0]
    opts = [f"{k}={v}" for k, v in options.items()]
    path = os.path.join(OUT, name)
    ds = gdal.GetDriverByName("GTiff").Create(path, width, height, bands, gdal_type, opts)
    ds.SetGeoTransform((440720.0, 30.0, 0.0, 3751320.0, 0.0, -30.0))
    for b in range(1, bands + 1):
        ds.GetRasterBand(b).WriteRaster(0, 0, width, height, samples(type_name, width, height, b), buf_type=gdal_type)
    ds = None
    size = os.path.getsize(path)
    print(f"{name}: {width} x {height} {type_name} x {bands}, {' '.join(opts)}: {size} bytes")
    if size > 16384:
        sys.exit(f"{name} is {size} bytes, more than the 16 KiB a seed may take")


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".tif") and not f.startswith("regress-"):
            os.remove(os.path.join(OUT, f))
    tiled = {"TILED": "YES", "BLOCKXSIZE": 32, "BLOCKYSIZE": 32}
    strips = {"BLOCKYSIZE": 32}  # RowsPerStrip
    # Tiled, DEFLATE: every predictor, both byte orders, partial right and bottom tiles.
    make("tile-deflate-p1-byte.tif", 70, 50, "Byte", COMPRESS="DEFLATE", PREDICTOR=1, **tiled)
    make("tile-deflate-p2-int16.tif", 70, 50, "Int16", COMPRESS="DEFLATE", PREDICTOR=2, **tiled)
    make("tile-deflate-p2-uint16-be.tif", 70, 50, "UInt16", COMPRESS="DEFLATE", PREDICTOR=2, ENDIANNESS="BIG", **tiled)
    make("tile-deflate-p3-float32.tif", 50, 40, "Float32", COMPRESS="DEFLATE", PREDICTOR=3, **tiled)
    make("tile-deflate-p3-float64-be-bigtiff.tif", 40, 40, "Float64", COMPRESS="DEFLATE", PREDICTOR=3, ENDIANNESS="BIG", BIGTIFF="YES", **tiled)
    make("tile-deflate-p1-float64-be.tif", 40, 40, "Float64", COMPRESS="DEFLATE", PREDICTOR=1, ENDIANNESS="BIG", **tiled)
    make("tile48-deflate-p2-int32.tif", 60, 50, "Int32", COMPRESS="DEFLATE", PREDICTOR=2, TILED="YES", BLOCKXSIZE=48, BLOCKYSIZE=48)
    # Tiled, uncompressed.
    make("tile-none-byte.tif", 40, 40, "Byte", COMPRESS="NONE", **tiled)
    make("tile-none-int16-be.tif", 40, 20, "Int16", COMPRESS="NONE", ENDIANNESS="BIG", **tiled)
    make("tile-none-float32-bigtiff.tif", 20, 20, "Float32", COMPRESS="NONE", BIGTIFF="YES", **tiled)
    # Strips of 32 rows (the last one short).
    make("strip-deflate-p2-uint16.tif", 70, 50, "UInt16", COMPRESS="DEFLATE", PREDICTOR=2, **strips)
    make("strip-deflate-p3-float64-bigtiff.tif", 30, 40, "Float64", COMPRESS="DEFLATE", PREDICTOR=3, BIGTIFF="YES", **strips)
    make("strip-none-float32-be.tif", 24, 40, "Float32", COMPRESS="NONE", ENDIANNESS="BIG", **strips)
    # Two bands, band-interleaved.
    make("tile-deflate-p2-int16-2bands.tif", 50, 40, "Int16", bands=2, COMPRESS="DEFLATE", PREDICTOR=2, INTERLEAVE="BAND", **tiled)
    make("strip-none-byte-2bands.tif", 40, 40, "Byte", bands=2, COMPRESS="NONE", INTERLEAVE="BAND", **strips)
    # One-row strips (#29): hundreds of strips, the shape that made BlockRows quadratic. The
    # streams refuse them (a strip is not a whole number of 16-row units): the seed checks that
    # refusal, and mutations of its strip tables.
    make("strip1-deflate-byte-400rows.tif", 16, 400, "Byte", COMPRESS="DEFLATE", BLOCKYSIZE=1)
    # 1 x 1 blocks (#29): a one-column file of one-row strips, one pixel per block, uncompressed
    # and DEFLATE; the shape whose truncated 16.7 M-block original once ran past 900 s.
    make("strip1-none-byte-1x1blocks.tif", 1, 1500, "Byte", COMPRESS="NONE", BLOCKYSIZE=1)
    make("strip1-deflate-uint16-1x1blocks.tif", 1, 700, "UInt16", COMPRESS="DEFLATE", BLOCKYSIZE=1)


if __name__ == "__main__":
    main()
