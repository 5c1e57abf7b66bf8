// What a thread keeps between a resample node's tiles: the thread_local buffers of the fast
// path (resample.cpp, resample_kernels.cpp), the read stack's under it and the per-thread
// geolocation transformer and the thread's GDAL dataset handles, declared to the memory planner. The thread_local
// buffers serve every resample node on the thread (one name each); a transformer is the node's own.
#include <algorithm>

#include "nodes/transforms/resample.hpp"

namespace rasterflow::nodes {

std::vector<ResourceNeeds::ThreadState> Resample::thread_state() const {
  std::vector<ResourceNeeds::ThreadState> out;
  const auto& info = reader_->info();
  if (info.geolocated()) {
    // The two arrays as doubles and GDAL's backmap (about 1.3 backmap pixels of three floats
    // per source pixel).
    out.push_back({id() + ": geolocation transformer", 32 * static_cast<std::uint64_t>(info.width * info.height)});
  }
  if (!fast_) {
    // The warper reads through this thread's handles on the file (and the VRTs over it).
    for (auto& s : reader_->warper_thread_state()) out.push_back(std::move(s));
    if (!signed_vrt_.empty()) out.push_back({info.path + ": signed-byte VRT handle", reader_->handle_bytes()});
    return out;
  }
  // Source pixels a strip reads at most: kStripPixels, or one grid row's when that is more.
  const auto cells_per_row = static_cast<std::uint64_t>(grid_.width) * (upsample_ ? 1 : kx_ * ky_);
  const std::uint64_t window = std::max<std::uint64_t>(kStripPixels, cells_per_row);
  const std::uint64_t strip = window * reader_->band_count() * sizeof(double);
  const std::string path = upsample_ ? " (expand)" : " (reduce)";
  out.push_back({"resample: source strip" + path, strip});
  if (wrap_) out.push_back({"resample: periodic piece" + path, strip});
  if (!upsample_) {
    // reduce's scratch of one cell's block, and the order kernels' distinct values and counts.
    const auto block = static_cast<std::uint64_t>(kx_ * ky_);
    out.push_back({"resample: block scratch", block * sizeof(double)});
    out.push_back({"resample kernels: distinct values", block * (sizeof(double) + sizeof(std::int64_t))});
    // The Int64/UInt64 kernels' own (resample_wide_kernels.cpp): a cell's block of 64-bit
    // values, and mode's distinct values and counts.
    if (wide_)
      out.push_back({"resample wide kernels: block scratch, distinct values", block * 3 * sizeof(std::int64_t)});
  }
  for (auto& s : reader_->thread_state(window)) out.push_back(std::move(s));
  return out;
}

}  // namespace rasterflow::nodes
