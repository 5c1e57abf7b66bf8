// Validity as GDAL defines it (issue #29): per-dataset masks (1-bit internal, 8-bit .msk),
// NODATA_VALUES, alpha bands (gdalwarp's -srcalpha, and alpha as data as -nosrcalpha) and
// per-band masks, each file written here and run through both of resample's paths, compared
// with gdalwarp -ovr NONE -et 0 on the same grid.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_utils.h>

#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 40, kH = 30;

std::vector<double> pattern(int band, bool zeros) {
  std::vector<double> v(static_cast<std::size_t>(kW * kH));
  for (int r = 0; r < kH; ++r) {
    for (int c = 0; c < kW; ++c) {
      double x = 1 + (c * 37 + r * 11 + band * 5) % 9;  // few classes: modes and ties
      if (zeros && (c + 2 * r + band) % 7 == 0) x = 0;  // valid zeros in some bands
      v[static_cast<std::size_t>(r * kW + c)] = x;
    }
  }
  return v;
}

// Mask values 0 (masked), 255 and, for an 8-bit mask, partial values.
std::vector<std::uint8_t> mask_values(bool partial) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(kW * kH));
  for (int r = 0; r < kH; ++r) {
    for (int c = 0; c < kW; ++c) {
      const int k = (c * 5 + r * 3) % 6;
      m[static_cast<std::size_t>(r * kW + c)] = k == 0 || (c < 8 && r < 6) ? 0 : (partial && k == 1 ? 90 : 255);
    }
  }
  return m;
}

void write_mask(GDALRasterBandH mask, const std::vector<std::uint8_t>& m) {
  REQUIRE(GDALRasterIO(mask, GF_Write, 0, 0, kW, kH, const_cast<std::uint8_t*>(m.data()), kW, kH, GDT_Byte, 0, 0) ==
          CE_None);
}

test::RasterSpec spec(int bands, const std::string& type) {
  return test::RasterSpec{
      .width = kW, .height = kH, .gt = {10.0, 0.1, 0.0, 50.0, 0.0, -0.1}, .type = type, .bands = bands};
}

// The kinds of file: each written by GDAL, then its mask, alpha or metadata added.
void write_kind(const std::filesystem::path& path, const std::string& kind) {
  const bool alpha = kind == "rgba" || kind == "grey_alpha";
  const int bands = kind == "rgba"                                  ? 4
                    : kind == "grey_alpha"                          ? 2
                    : kind == "nodata_values" || kind == "per_band" ? 3
                                                                    : 1;
  std::vector<std::vector<double>> values;
  for (int b = 0; b < bands; ++b) values.push_back(pattern(b, kind == "nodata_values"));
  if (alpha) {
    std::vector<double> a(values.back().size());
    const auto m = mask_values(true);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = m[i];
    values.back() = a;
  }
  if (kind == "nodata_values") {  // whole pixels of the tuple (0, 0, 0), and many zeros alone
    for (std::size_t i = 0; i < values[0].size(); ++i) {
      if (i % 13 == 0 || (i % kW < 8 && i / kW < 6)) values[0][i] = values[1][i] = values[2][i] = 0;
    }
  }
  test::write_raster(path, spec(bands, kind == "nodata_values" ? "Int16" : "Byte"), values);
  CPLSetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", kind == "mask1" ? "YES" : "NO");
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_Update);
  REQUIRE(ds != nullptr);
  if (alpha) GDALSetRasterColorInterpretation(GDALGetRasterBand(ds, bands), GCI_AlphaBand);
  if (kind == "nodata_values") GDALSetMetadataItem(ds, "NODATA_VALUES", "0 0 0", nullptr);
  if (kind == "mask1" || kind == "mask8") {
    REQUIRE(GDALCreateDatasetMaskBand(ds, GMF_PER_DATASET) == CE_None);
    write_mask(GDALGetMaskBand(GDALGetRasterBand(ds, 1)), mask_values(kind == "mask8"));
  }
  if (kind == "per_band") {
    for (int b = 1; b <= bands; ++b) {
      GDALRasterBandH band = GDALGetRasterBand(ds, b);
      REQUIRE(GDALCreateMaskBand(band, 0) == CE_None);
      auto m = mask_values(false);
      std::rotate(m.begin(), m.begin() + b * 7, m.end());
      write_mask(GDALGetMaskBand(band), m);
    }
  }
  GDALClose(ds);
  CPLSetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", nullptr);
}

// The grid: the source's extent at 2 x 2 source pixels per cell (the fast path applies).
Grid grid() {
  Grid g;
  g.x0 = 10.0;
  g.y0 = 50.0;
  g.res_x = g.res_y = 0.2;
  g.width = kW / 2;
  g.height = kH / 2;
  return g;
}

// Every column of the CSV (after x, y): values in raster order, NaN for empty fields.
std::vector<std::vector<double>> csv_columns(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<double>> columns(static_cast<std::size_t>(std::count(line.begin(), line.end(), ',') - 1));
  while (std::getline(in, line)) {
    std::istringstream fields(line + ",");
    std::string field;
    for (int i = 0; std::getline(fields, field, ','); ++i) {
      if (i >= 2) columns[static_cast<std::size_t>(i - 2)].push_back(field.empty() ? std::nan("") : std::stod(field));
    }
  }
  return columns;
}

std::vector<std::vector<double>> run_path(const test::TempDir& dir, const std::string& file, const std::string& method,
                                          const std::string& path, const std::string& source_options) {
  const std::string graph = R"({"grid": {"resolution": 0.2, "extent": [10, 47, 14, 50]}, "nodes": [
      {"id": "s", "type": "raster_source", "path": ")" +
                            file + R"(", "band": "all")" + source_options + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                            method + R"(", "implementation": ")" + path + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  PlanOptions options;
  options.tile_rows = 4;
  test::run_graph_json(dir.path(), graph, options);
  return csv_columns(test::read_text(dir / "o.csv"));
}

// gdalwarp on the grid, every band; a destination alpha band (gdalwarp adds one for a source
// with alpha) blanks the cells of alpha 0 and is dropped.
std::vector<std::vector<double>> gdalwarp_bands(const std::filesystem::path& file, const std::string& method,
                                                std::vector<std::string> extra) {
  GDALAllRegister();
  GDALDatasetH src = GDALOpen(file.c_str(), GA_ReadOnly);
  REQUIRE(src != nullptr);
  // A source with alpha gets a destination alpha, which says where nothing was written (with
  // -dstnodata too, gdalwarp would blend partly transparent cells into the NaN it starts from).
  const bool alpha = GDALGetRasterColorInterpretation(GDALGetRasterBand(src, GDALGetRasterCount(src))) == GCI_AlphaBand;
  std::vector<std::string> args = {"-of", "MEM",    "-r",   method == "median" ? "med" : method,
                                   "-et", "0",      "-ovr", "NONE",
                                   "-te", "10",     "47",   "14",
                                   "50",  "-ts",    "20",   "15",
                                   "-ot", "Float64"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (!alpha || !extra.empty()) args.insert(args.end(), {"-dstnodata", "nan"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, nullptr);
  GDALWarpAppOptionsFree(options);
  REQUIRE(out != nullptr);
  std::vector<std::vector<double>> bands;
  for (int b = 1; b <= GDALGetRasterCount(out); ++b) {
    std::vector<double> v(20 * 15);
    REQUIRE(GDALRasterIO(GDALGetRasterBand(out, b), GF_Read, 0, 0, 20, 15, v.data(), 20, 15, GDT_Float64, 0, 0) ==
            CE_None);
    bands.push_back(std::move(v));
  }
  if (GDALGetRasterColorInterpretation(GDALGetRasterBand(out, GDALGetRasterCount(out))) == GCI_AlphaBand) {
    for (std::size_t i = 0; i < bands.back().size(); ++i) {
      if (bands.back()[i] == 0) {
        for (auto& b : bands) b[i] = std::nan("");
      }
    }
    bands.pop_back();
  }
  GDALClose(out);
  GDALClose(src);
  return bands;
}

// Cells that differ (NaN equals NaN; blending methods within 1e-9 relative), and the first.
std::size_t differences(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                        std::string* first) {
  std::size_t count = 0;
  if (a.size() != b.size()) {
    *first = "band counts " + std::to_string(a.size()) + " and " + std::to_string(b.size());
    return 1;
  }
  for (std::size_t k = 0; k < a.size(); ++k) {
    for (std::size_t i = 0; i < a[k].size(); ++i) {
      const double x = a[k][i], y = b[k][i];
      const bool same =
          std::isnan(x) ? std::isnan(y) : !std::isnan(y) && std::fabs(x - y) <= 1e-9 * std::max(1.0, std::fabs(y));
      if (!same && count++ == 0) {
        std::ostringstream s;
        s << "band " << k + 1 << " cell " << i << ": " << x << " against " << y;
        *first = s.str();
      }
    }
  }
  return count;
}

std::size_t invalid_cells(const std::vector<std::vector<double>>& bands) {
  std::size_t n = 0;
  for (const auto& b : bands)
    n += static_cast<std::size_t>(std::count_if(b.begin(), b.end(), [](double v) { return std::isnan(v); }));
  return n;
}

void check_kind_against_gdalwarp(const std::string& kind, const std::string& source_options = "",
                                 const std::vector<std::string>& gdalwarp_extra = {}) {
  test::TempDir dir;
  write_kind(dir / "src.tif", kind);
  for (const std::string method : {"nearest", "average", "sum", "max", "mode", "median"}) {
    CAPTURE(kind);
    CAPTURE(method);
    const auto ref = gdalwarp_bands(dir / "src.tif", method, gdalwarp_extra);
    if (gdalwarp_extra.empty()) CHECK(invalid_cells(ref) > 0);  // masks reach whole cells: the comparison sees them
    for (const std::string path : {"fast", "warper"}) {
      CAPTURE(path);
      std::string first;
      CHECK_MESSAGE(differences(run_path(dir, "src.tif", method, path, source_options), ref, &first) == 0, first);
    }
  }
}

}  // namespace

TEST_CASE("Validity.PerDatasetMask1Bit.BothPathsEqualGdalwarp" * doctest::timeout(120)) {
  check_kind_against_gdalwarp("mask1");
}

TEST_CASE("Validity.PerDatasetMask8Bit.BothPathsEqualGdalwarp" * doctest::timeout(120)) {
  check_kind_against_gdalwarp("mask8");
}

TEST_CASE("Validity.NodataValues.WholePixelOnBothPaths" * doctest::timeout(120)) {
  check_kind_against_gdalwarp("nodata_values");
}

TEST_CASE("Validity.Alpha.BothPathsEqualGdalwarpSrcAlpha" * doctest::timeout(120)) {
  check_kind_against_gdalwarp("rgba");
  check_kind_against_gdalwarp("grey_alpha");
}

TEST_CASE("Validity.AlphaAsData.BothPathsEqualGdalwarpNoSrcAlpha" * doctest::timeout(120)) {
  // The alpha band is then a band like the others (band "all" reads it), masking nothing.
  check_kind_against_gdalwarp("grey_alpha", R"(, "alpha": "data")", {"-nosrcalpha"});
}

TEST_CASE("Validity.PerBandMasks.BothPathsEqualGdalwarpOnMaskedCopy" * doctest::timeout(120)) {
  // gdalwarp 3.6 ignores masks of single bands; GDAL's meaning is each band's own validity. The
  // reference: gdalwarp on a copy whose masked pixels hold a nodata value.
  test::TempDir dir;
  write_kind(dir / "src.tif", "per_band");
  {
    GDALDatasetH ds = GDALOpen((dir / "src.tif").c_str(), GA_ReadOnly);
    std::vector<std::vector<double>> values;
    for (int b = 1; b <= 3; ++b) {
      std::vector<double> v(kW * kH);
      std::vector<std::uint8_t> m(kW * kH);
      GDALRasterBandH band = GDALGetRasterBand(ds, b);
      REQUIRE(GDALRasterIO(band, GF_Read, 0, 0, kW, kH, v.data(), kW, kH, GDT_Float64, 0, 0) == CE_None);
      REQUIRE(GDALRasterIO(GDALGetMaskBand(band), GF_Read, 0, 0, kW, kH, m.data(), kW, kH, GDT_Byte, 0, 0) == CE_None);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = m[i] == 0 ? 250 : v[i];
      values.push_back(std::move(v));
    }
    GDALClose(ds);
    auto s = spec(3, "Byte");
    s.nodata = 250;
    test::write_raster(dir / "masked.tif", s, values);
  }
  for (const std::string method : {"nearest", "average", "max", "mode"}) {
    CAPTURE(method);
    const auto ref = gdalwarp_bands(dir / "masked.tif", method, {});
    for (const std::string path : {"fast", "warper"}) {
      CAPTURE(path);
      std::string first;
      CHECK_MESSAGE(differences(run_path(dir, "src.tif", method, path, ""), ref, &first) == 0, first);
    }
  }
}
