#pragma once
// Thin RAII over GDAL's C API, shared by the nodes. GDAL handles are not thread-safe: a handle
// belongs to one thread at a time.
#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <memory>
#include <string>

namespace rasterflow::nodes {

// Registers GDAL's drivers once and routes GDAL's messages to the log (never to stderr).
void ensure_gdal();

struct DatasetCloser {
  void operator()(void* h) const {
    if (h != nullptr) GDALClose(static_cast<GDALDatasetH>(h));
  }
};
using DatasetPtr = std::unique_ptr<void, DatasetCloser>;
inline GDALDatasetH get(const DatasetPtr& p) { return static_cast<GDALDatasetH>(p.get()); }

struct SrsDeleter {
  void operator()(void* h) const {
    if (h != nullptr) OSRDestroySpatialReference(static_cast<OGRSpatialReferenceH>(h));
  }
};
using SrsPtr = std::unique_ptr<void, SrsDeleter>;
inline OGRSpatialReferenceH get(const SrsPtr& p) { return static_cast<OGRSpatialReferenceH>(p.get()); }

// A spatial reference from WKT or user input, with the traditional GIS axis order (x = easting
// or longitude). Null when the text is empty or not understood.
SrsPtr make_srs(const std::string& text);
bool same_crs(const std::string& a, const std::string& b);

// The last GDAL error message of this thread, or `fallback`.
std::string last_gdal_error(const std::string& fallback);

// The GDAL errors of this thread while it lives (one read): GDAL's first error usually names the
// cause ("ZIPDecode:Decoding error at scanline 32"), its last only the call that gave up
// ("IReadBlock failed at X offset 1, Y offset 1: TIFFReadEncodedTile() failed.").
class GdalErrors {
 public:
  GdalErrors();
  ~GdalErrors();
  GdalErrors(const GdalErrors&) = delete;
  GdalErrors& operator=(const GdalErrors&) = delete;
  // The first error, then the last when it is another ("first (then: last)"), or `fallback`.
  std::string text(const std::string& fallback) const;

 private:
  GdalErrors* outer_;
};

}  // namespace rasterflow::nodes
