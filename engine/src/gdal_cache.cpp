#include "gdal_cache.hpp"

#include <gdal.h>
#include <malloc.h>

namespace rasterflow::detail {

void set_gdal_cache_bytes(std::uint64_t bytes) { GDALSetCacheMax64(static_cast<GIntBig>(bytes)); }
std::uint64_t gdal_cache_bytes() { return static_cast<std::uint64_t>(GDALGetCacheMax64()); }
void release_free_heap() { malloc_trim(0); }

}  // namespace rasterflow::detail
