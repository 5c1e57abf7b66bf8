"""GRIB1 and GRIB2 temperatures for the GRIB unit tests (#30), written by ECMWF's ecCodes (not GDAL,
which cannot write GRIB1), with ecCodes' own decoding of the same messages as the reference.

    /usr/bin/python3 make_grib_inputs.py OUT_DIR

Writes OUT_DIR/t1.grib (GRIB1, ECMWF table 128 parameter 167: 2 metre temperature, K),
OUT_DIR/t2.grib2 (GRIB2, the same field: discipline 0, category 0, number 0, K),
OUT_DIR/levels.grib2 (GRIB2 temperature on two levels at two times, four messages) and
OUT_DIR/expected.json: the grid and, per file, the values ecCodes decodes (row-major, north first).
"""
import json
import sys

import eccodes
import numpy as np

NI, NJ = 40, 30
NORTH, WEST, STEP = 50.0, 0.0, 1.0


def set_grid(h):
    """The test grid (1 degree, north-west corner at 50N 0E) and 24-bit packing."""
    for key, value in (("Ni", NI), ("Nj", NJ), ("iDirectionIncrementInDegrees", STEP),
                       ("jDirectionIncrementInDegrees", STEP),
                       ("latitudeOfFirstGridPointInDegrees", NORTH),
                       ("longitudeOfFirstGridPointInDegrees", WEST),
                       ("latitudeOfLastGridPointInDegrees", NORTH - (NJ - 1) * STEP),
                       ("longitudeOfLastGridPointInDegrees", WEST + (NI - 1) * STEP),
                       ("bitsPerValue", 24)):
        eccodes.codes_set(h, key, value)


def write(path, edition, values):
    h = eccodes.codes_grib_new_from_samples(f"regular_ll_sfc_grib{edition}")
    eccodes.codes_set(h, "paramId", 167)
    set_grid(h)
    eccodes.codes_set_values(h, values.ravel())
    with open(path, "wb") as f:
        eccodes.codes_write(h, f)
    eccodes.codes_release(h)


def write_levels(path, field):
    """Temperature (paramId 130) on 500 and 850 hPa at 00 UTC of 1 and 2 January 2020: four
    GRIB2 messages, each the field plus its level in K and its day."""
    with open(path, "wb") as f:
        for day in (1, 2):
            for level in (500, 850):
                h = eccodes.codes_grib_new_from_samples("regular_ll_pl_grib2")
                eccodes.codes_set(h, "paramId", 130)
                eccodes.codes_set(h, "level", level)
                eccodes.codes_set(h, "dataDate", 20200100 + day)
                eccodes.codes_set(h, "dataTime", 0)
                set_grid(h)
                eccodes.codes_set_values(h, (field + level / 100.0 + day).ravel())
                eccodes.codes_write(h, f)
                eccodes.codes_release(h)


def decoded(path):
    with open(path, "rb") as f:
        h = eccodes.codes_grib_new_from_file(f)
        values = eccodes.codes_get_values(h).tolist()
        units = eccodes.codes_get(h, "units")
        eccodes.codes_release(h)
    return {"values": values, "units": units}


def main(out):
    rows, cols = np.mgrid[0:NJ, 0:NI]
    field = 240.0 + 0.75 * rows + 0.5 * cols + 0.01 * ((rows * 7 + cols * 3) % 11)
    write(f"{out}/t1.grib", 1, field)
    write(f"{out}/t2.grib2", 2, field)
    write_levels(f"{out}/levels.grib2", field)
    expected = {"width": NI, "height": NJ, "north": NORTH, "west": WEST, "step": STEP,
                "t1": decoded(f"{out}/t1.grib"), "t2": decoded(f"{out}/t2.grib2")}
    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
