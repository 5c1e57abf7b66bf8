#include "support/wide_raster.hpp"

#include <gdal.h>
#include <ogr_srs_api.h>

#include <stdexcept>

namespace rasterflow::test {

void write_wide_raster(const std::filesystem::path& path, const WideRaster& spec,
                       const std::vector<std::int64_t>& bits) {
  GDALAllRegister();
  const GDALDataType type = spec.is_signed ? GDT_Int64 : GDT_UInt64;
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), spec.width, spec.height, 1, type, nullptr);
  if (ds == nullptr) throw std::runtime_error("cannot create " + path.string());
  GeoTransform gt = spec.gt;
  GDALSetGeoTransform(ds, gt.data());
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, 4326);
  GDALSetSpatialRef(ds, srs);
  OSRDestroySpatialReference(srs);
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  const CPLErr err = GDALRasterIO(b, GF_Write, 0, 0, spec.width, spec.height, const_cast<std::int64_t*>(bits.data()),
                                  spec.width, spec.height, type, 0, 0);
  if (spec.nodata && spec.is_signed) GDALSetRasterNoDataValueAsInt64(b, *spec.nodata);
  if (spec.nodata && !spec.is_signed) GDALSetRasterNoDataValueAsUInt64(b, static_cast<std::uint64_t>(*spec.nodata));
  GDALClose(ds);
  if (err != CE_None) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::int64_t> read_wide_raster(const std::filesystem::path& path, int band,
                                           std::optional<std::int64_t>* nodata) {
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  if (ds == nullptr) throw std::runtime_error("cannot open " + path.string());
  GDALRasterBandH b = GDALGetRasterBand(ds, band);
  const GDALDataType type = GDALGetRasterDataType(b);
  const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
  std::vector<std::int64_t> out(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  const CPLErr err = GDALRasterIO(b, GF_Read, 0, 0, w, h, out.data(), w, h, type, 0, 0);
  if (nodata != nullptr) {
    int has = 0;
    const std::int64_t v = type == GDT_UInt64 ? static_cast<std::int64_t>(GDALGetRasterNoDataValueAsUInt64(b, &has))
                                              : GDALGetRasterNoDataValueAsInt64(b, &has);
    *nodata = has ? std::optional<std::int64_t>(v) : std::nullopt;
  }
  GDALClose(ds);
  if (err != CE_None || (type != GDT_Int64 && type != GDT_UInt64))
    throw std::runtime_error(path.string() + " band " + std::to_string(band) + " is not Int64/UInt64 or unreadable");
  return out;
}

std::string wide_text(std::int64_t bits, bool is_signed) {
  return is_signed ? std::to_string(bits) : std::to_string(static_cast<std::uint64_t>(bits));
}

}  // namespace rasterflow::test
