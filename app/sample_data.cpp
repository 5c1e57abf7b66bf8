#include "app/sample_data.hpp"

#include <cmath>
#include <cstdint>
#include <functional>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::app {
namespace {

using namespace rasterflow::nodes;  // the GDAL handles of nodes/gdal/gdal.hpp

struct Layout {
  double xmin, ymin, xmax, ymax;
  double res;  // finest resolution, degrees
};

Layout layout_for(const std::string& size) {
  if (size == "small") return {0.0, 40.0, 10.0, 45.0, 0.01};
  if (size == "medium") return {-30.0, 20.0, 30.0, 50.0, 0.01};
  if (size == "large") return {-180.0, -90.0, 180.0, 90.0, 0.01};
  throw UsageError("sample-data: --size: unknown value \"" + size + "\" (expected small, medium or large)");
}

// Writes a single-band north-up EPSG:4326 GeoTIFF whose value at pixel (col, row) is
// value(col, row), computed a strip of rows at a time.
template <typename T>
void write_raster(const std::filesystem::path& path, const Layout& l, double res, GDALDataType type, double nodata,
                  const std::function<T(std::int64_t col, std::int64_t row, double lon, double lat)>& value) {
  const auto width = static_cast<std::int64_t>(std::llround((l.xmax - l.xmin) / res));
  const auto height = static_cast<std::int64_t>(std::llround((l.ymax - l.ymin) / res));
  const std::string tmp = path.string() + ".partial";
  const char* const options[] = {
      "TILED=YES",        "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "NUM_THREADS=ALL_CPUS",
      "BIGTIFF=IF_SAFER", nullptr};
  DatasetPtr ds(GDALCreate(GDALGetDriverByName("GTiff"), tmp.c_str(), static_cast<int>(width), static_cast<int>(height),
                           1, type, const_cast<char**>(options)));
  if (!ds) throw IoError("sample-data: cannot create " + tmp + ": " + last_gdal_error("GTiff driver error"));
  double gt[6] = {l.xmin, res, 0.0, l.ymax, 0.0, -res};
  GDALSetGeoTransform(get(ds), gt);
  GDALSetProjection(get(ds), "EPSG:4326");
  const SrsPtr srs = make_srs("EPSG:4326");
  char* wkt = nullptr;
  OSRExportToWkt(get(srs), &wkt);
  GDALSetProjection(get(ds), wkt);
  CPLFree(wkt);
  GDALRasterBandH band = GDALGetRasterBand(get(ds), 1);
  GDALSetRasterNoDataValue(band, nodata);
  const std::int64_t strip = 256;
  std::vector<T> buffer(static_cast<std::size_t>(width * strip));
  for (std::int64_t row0 = 0; row0 < height; row0 += strip) {
    const std::int64_t rows = std::min(strip, height - row0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const double lat = l.ymax - (static_cast<double>(row0 + r) + 0.5) * res;
      for (std::int64_t c = 0; c < width; ++c) {
        const double lon = l.xmin + (static_cast<double>(c) + 0.5) * res;
        buffer[static_cast<std::size_t>(r * width + c)] = value(c, row0 + r, lon, lat);
      }
    }
    if (GDALRasterIO(band, GF_Write, 0, static_cast<int>(row0), static_cast<int>(width), static_cast<int>(rows),
                     buffer.data(), static_cast<int>(width), static_cast<int>(rows), type, 0, 0) != CE_None) {
      throw IoError("sample-data: writing " + tmp + " failed: " + last_gdal_error("write error"));
    }
  }
  ds.reset();
  std::filesystem::rename(tmp, path);
}

}  // namespace

std::vector<SampleFile> generate_sample_data(const std::filesystem::path& dir, const std::string& size) {
  ensure_gdal();
  const Layout l = layout_for(size);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("sample-data: cannot create folder " + dir.string() + ": " + ec.message());
  std::vector<SampleFile> files;

  const auto temperature = dir / "temperature.tif";
  write_raster<float>(temperature, l, l.res, GDT_Float32, -9999.0,
                      [](std::int64_t, std::int64_t, double lon, double lat) {
                        // A lake of nodata, then a smooth climate field.
                        const double dx = std::fmod(std::fabs(lon - 3.3), 20.0) - 1.7;
                        const double dy = std::fmod(std::fabs(lat - 41.2), 15.0) - 1.1;
                        if (dx * dx / 1.2 + dy * dy / 0.5 < 1.0) return -9999.0f;
                        return static_cast<float>(28.0 - 0.55 * std::fabs(lat) + 3.0 * std::sin(lon * 0.21) +
                                                  1.5 * std::cos(lat * 0.37 + lon * 0.05));
                      });
  files.push_back({temperature, "Float32 temperature (deg C), finest resolution, nodata -9999"});

  const auto elevation = dir / "elevation.tif";
  write_raster<std::int16_t>(
      elevation, l, 2 * l.res, GDT_Int16, -32768.0, [](std::int64_t, std::int64_t, double lon, double lat) {
        const double h =
            1400.0 * std::sin(lon * 0.11) * std::cos(lat * 0.09) + 350.0 * std::sin(lon * 0.9 + lat * 0.4) + 200.0;
        if (h < 0) return std::int16_t{-32768};  // the sea
        return static_cast<std::int16_t>(std::lround(h));
      });
  files.push_back({elevation, "Int16 elevation (m), 2x coarser, nodata -32768 over the sea"});

  const auto landcover = dir / "landcover.tif";
  write_raster<std::uint8_t>(
      landcover, l, 4 * l.res, GDT_Byte, 0.0, [](std::int64_t col, std::int64_t row, double lon, double lat) {
        if (row % 97 < 3) return std::uint8_t{0};  // stripes of nodata
        const double v =
            std::sin(lon * 0.7) * std::cos(lat * 0.5) + 0.3 * std::sin(static_cast<double>(col + 2 * row) * 0.013);
        return static_cast<std::uint8_t>(1 + static_cast<int>((v + 1.3) / 2.6 * 9.0) % 9);
      });
  files.push_back({landcover, "Byte land cover classes 1-9, 4x coarser, nodata 0 in stripes"});
  return files;
}

}  // namespace rasterflow::app
