#include "nodes/gdal/longitude_wrap.hpp"

#include <gdal_vrt.h>

#include <cmath>
#include <cstring>

#include "nodes/read/raster_reader.hpp"

namespace rasterflow::nodes {

bool is_geographic(const std::string& crs) {
  const SrsPtr srs = make_srs(crs);
  return srs && OSRIsGeographic(get(srs)) != 0;
}

bool spans_globe(const std::string& crs, const GeoTransform& gt, std::int64_t width) {
  if (gt[2] != 0.0 || gt[4] != 0.0 || !(gt[1] > 0.0)) return false;
  if (std::fabs(static_cast<double>(width) * gt[1] - 360.0) > 0.01 * gt[1]) return false;
  return is_geographic(crs);
}

bool wraps_longitude(const RasterReader& reader) {
  const auto& info = reader.info();
  return reader.wrap_longitude() && !info.geolocated() && info.georef.by_geotransform() &&
         spans_globe(info.crs, info.gt, info.width);
}

DatasetPtr periodic_dataset(GDALDatasetH src, std::span<const int> bands, const GeoTransform& source_gt,
                            std::int64_t width, std::int64_t height, GeoTransform& gt) {
  const int w = static_cast<int>(width);
  const int h = static_cast<int>(height);
  VRTDatasetH vrt = VRTCreate(3 * w, h);
  DatasetPtr out(vrt);
  for (std::size_t k = 0; k < bands.size(); ++k) {
    GDALRasterBandH from = GDALGetRasterBand(src, bands[k]);
    GDALAddBand(vrt, GDALGetRasterDataType(from), nullptr);
    auto* band = static_cast<VRTSourcedRasterBandH>(GDALGetRasterBand(vrt, static_cast<int>(k) + 1));
    for (int copy = 0; copy < 3; ++copy)
      VRTAddSimpleSource(band, from, 0, 0, w, h, copy * w, 0, w, h, "near", VRT_NODATA_UNSET);
  }
  gt = source_gt;
  gt[0] -= static_cast<double>(width) * source_gt[1];  // one period, exactly the source's columns
  GDALSetGeoTransform(vrt, gt.data());
  if (const char* wkt = GDALGetProjectionRef(src); wkt != nullptr) GDALSetProjection(vrt, wkt);
  return out;
}

namespace {
std::int64_t modulo(std::int64_t a, std::int64_t n) { return ((a % n) + n) % n; }
}  // namespace

void read_wrapped(RasterReader& reader, const PixelWindow& w, bool native, std::vector<double>& out,
                  std::vector<double>& piece) {
  const std::int64_t width = reader.info().width;
  const std::size_t bands = native ? 1 : reader.band_count();
  const std::size_t sample = native ? static_cast<std::size_t>(reader.sample_bytes()) : sizeof(double);
  const std::size_t row_bytes = static_cast<std::size_t>(w.cols) * sample;
  out.resize((static_cast<std::size_t>(w.cells()) * bands * sample + sizeof(double) - 1) / sizeof(double));
  auto* dst = reinterpret_cast<std::byte*>(out.data());
  for (std::int64_t c = w.col0; c < w.col0 + w.cols;) {
    PixelWindow part{modulo(c, width), w.row0, 0, w.rows};
    part.cols = std::min(width - part.col0, w.col0 + w.cols - c);
    piece.resize((static_cast<std::size_t>(part.cells()) * bands * sample + sizeof(double) - 1) / sizeof(double));
    auto* src = reinterpret_cast<const std::byte*>(piece.data());
    if (native)
      reader.read_native(part, reinterpret_cast<std::byte*>(piece.data()));
    else
      reader.read_bands(part, piece.data());
    const std::size_t part_row = static_cast<std::size_t>(part.cols) * sample;
    const std::size_t at = static_cast<std::size_t>(c - w.col0) * sample;
    for (std::size_t b = 0; b < bands; ++b) {
      for (std::int64_t r = 0; r < w.rows; ++r) {
        const std::size_t row = b * static_cast<std::size_t>(w.rows) + static_cast<std::size_t>(r);
        std::memcpy(dst + row * row_bytes + at, src + row * part_row, part_row);
      }
    }
    c += part.cols;
  }
}

}  // namespace rasterflow::nodes
