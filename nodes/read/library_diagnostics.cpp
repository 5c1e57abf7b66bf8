#include "nodes/read/library_diagnostics.hpp"

#include <dlfcn.h>

#include <cstdint>

namespace rasterflow::nodes {

namespace {
// HDF5's H5Eset_auto2(hid_t estack, H5E_auto2_t func, void* data), looked up in the process (HDF5
// comes in with GDAL's netCDF and HDF5 drivers; rasterflow does not link it). hid_t is 64 bits
// since HDF5 1.10; H5E_DEFAULT is 0.
using SetAuto = int (*)(std::int64_t, void*, void*);
SetAuto set_auto() {
  static const SetAuto f = reinterpret_cast<SetAuto>(dlsym(RTLD_DEFAULT, "H5Eset_auto2"));
  return f;
}
}  // namespace

void quiet_library_diagnostics() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  if (const SetAuto f = set_auto()) f(0, nullptr, nullptr);
}

}  // namespace rasterflow::nodes
