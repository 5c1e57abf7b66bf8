#pragma once
// GDAL's block cache, which otherwise takes 5% of the machine's memory on its own, sized
// inside the run's memory budget. Private to engine/src.
#include <cstdint>

namespace rasterflow::detail {
void set_gdal_cache_bytes(std::uint64_t bytes);
std::uint64_t gdal_cache_bytes();
// Hands freed heap back to the system (malloc_trim).
void release_free_heap();
}  // namespace rasterflow::detail
