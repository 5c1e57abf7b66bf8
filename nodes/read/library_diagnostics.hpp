#pragma once
// Library diagnostics that must not reach stderr (#28). HDF5 prints an error stack
// ("HDF5-DIAG: Error detected in HDF5 ...") for every failed call unless its automatic error
// printing is off, and that setting is per thread in a thread-safe HDF5 (Debian's libhdf5 1.10
// is built thread-safe: H5is_library_threadsafe says so). libnetcdf turns it off only in the
// thread that initialises it, so every other thread that opens a NetCDF-4 file printed the
// stacks of libnetcdf's expected probes (attributes such as _QuantizeBitGroomNumberOfSignificantDigits
// that a file does not have). HDF5 itself is never entered by two threads at once: its
// thread-safe build holds a global lock, and GDAL's netCDF driver serialises libnetcdf with its
// own mutex.
namespace rasterflow::nodes {

// Turns HDF5's automatic error printing off in the calling thread (once per thread; nothing
// when HDF5 is not loaded). Call before a thread opens a dataset.
void quiet_library_diagnostics();

}  // namespace rasterflow::nodes
