#include <doctest/doctest.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.hpp"

using rasterflow::test::run_cli;
using rasterflow::test::run_shell;

namespace {

// The demo graph's table node replaced by a raster_sink with `options` (JSON members).
std::string raster_graph(const rasterflow::test::TempDir& dir, const std::string& name, const std::string& options) {
  std::string graph = rasterflow::test::read_text(dir / "graphs/demo.json");
  const std::string csv = R"("type": "csv_sink", "inputs": ["merged"], "path": "merged.csv")";
  const auto at = graph.find(csv);
  REQUIRE(at != std::string::npos);
  graph.replace(at, csv.size(), R"("type": "raster_sink", "inputs": ["merged"])" + options);
  const auto path = dir / "graphs" / (name + ".json");
  rasterflow::test::write_text(path, graph);
  return path.string();
}

struct Bands {
  std::int64_t width = 0, height = 0;
  double gt[6] = {};
  std::string crs;
  std::vector<std::string> descriptions;
  std::vector<double> nodata;
  std::vector<std::vector<double>> values;
};

// Every band of each dataset name (a file, or netCDF/Zarr subdatasets one band each), read with GDAL.
Bands read_bands(const std::vector<std::string>& names) {
  GDALAllRegister();
  Bands out;
  for (const auto& name : names) {
    GDALDatasetH ds = GDALOpen(name.c_str(), GA_ReadOnly);
    REQUIRE_MESSAGE(ds != nullptr, name);
    out.width = GDALGetRasterXSize(ds);
    out.height = GDALGetRasterYSize(ds);
    GDALGetGeoTransform(ds, out.gt);
    out.crs = GDALGetProjectionRef(ds);
    for (int b = 1; b <= GDALGetRasterCount(ds); ++b) {
      GDALRasterBandH band = GDALGetRasterBand(ds, b);
      out.descriptions.emplace_back(GDALGetDescription(band));
      int has = 0;
      out.nodata.push_back(GDALGetRasterNoDataValue(band, &has));
      if (!has) out.nodata.back() = -12345.678;  // no nodata: no cell will match
      std::vector<double> v(static_cast<std::size_t>(out.width * out.height));
      REQUIRE(GDALRasterIO(band, GF_Read, 0, 0, static_cast<int>(out.width), static_cast<int>(out.height), v.data(),
                           static_cast<int>(out.width), static_cast<int>(out.height), GDT_Float64, 0, 0) == CE_None);
      out.values.push_back(std::move(v));
    }
    GDALClose(ds);
  }
  return out;
}

bool is_nodata(double v, double nodata) { return std::isnan(nodata) ? std::isnan(v) : v == nodata; }

// Whether the raster holds the CSV's cells value for value (the CSV prints Float32 columns as
// the float they are: compared as floats when the double differs) and nodata everywhere else,
// on the demo's grid (0.05 degree cells from (0, 45)).
void check_equals_csv(const Bands& r, const std::string& csv_text, std::size_t columns) {
  REQUIRE(r.width == 200);
  REQUIRE(r.height == 100);
  CHECK(r.gt[0] == doctest::Approx(0).epsilon(1e-12));
  CHECK(r.gt[1] == doctest::Approx(0.05).epsilon(1e-12));
  CHECK(r.gt[3] == doctest::Approx(45).epsilon(1e-12));
  CHECK(r.gt[5] == doctest::Approx(-0.05).epsilon(1e-12));
  OGRSpatialReferenceH srs = OSRNewSpatialReference(r.crs.c_str());
  OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(wgs84, 4326);
  CHECK(OSRIsSame(srs, wgs84));
  OSRDestroySpatialReference(srs);
  OSRDestroySpatialReference(wgs84);
  REQUIRE(r.values.size() == columns);
  std::vector<char> seen(static_cast<std::size_t>(r.width * r.height), 0);
  std::istringstream in(csv_text);
  std::string line;
  std::getline(in, line);  // header
  std::size_t rows = 0, mismatches = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string field;
    while (std::getline(ls, field, ',')) f.push_back(field);
    while (f.size() < 2 + columns) f.emplace_back();
    const auto col = static_cast<std::int64_t>(std::floor(std::stod(f[0]) / 0.05));
    const auto row = static_cast<std::int64_t>(std::floor((45 - std::stod(f[1])) / 0.05));
    const auto cell = static_cast<std::size_t>(row * r.width + col);
    seen[cell] = 1;
    for (std::size_t b = 0; b < columns; ++b) {
      const double v = r.values[b][cell];
      bool same;
      if (f[2 + b].empty()) {
        same = is_nodata(v, r.nodata[b]);
      } else {
        const double c = std::stod(f[2 + b]);
        same = c == v ||
               (static_cast<float>(c) == static_cast<float>(v) && v == static_cast<double>(static_cast<float>(v)));
      }
      if (!same && ++mismatches < 5)
        FAIL_CHECK("cell " << col << "," << row << " band " << b + 1 << ": csv " << f[2 + b] << " raster " << v);
    }
  }
  CHECK(rows > 1000);
  CHECK(mismatches == 0);
  std::size_t stray = 0;
  for (std::size_t cell = 0; cell < seen.size(); ++cell) {
    if (seen[cell]) continue;
    for (std::size_t b = 0; b < columns; ++b) stray += is_nodata(r.values[b][cell], r.nodata[b]) ? 0 : 1;
  }
  CHECK(stray == 0);
}

std::vector<std::string> folder_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("rasterflow_metrics.sqlite", 0) != 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + " ";
  return s;
}

}  // namespace

TEST_CASE("RasterSink.Formats.ReadBackEqualsTheCsv" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  const std::string demo = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("run " + demo + " --output-dir " + (dir / "csv").string(), &out) == 0);
  const std::string csv = rasterflow::test::read_text(dir / "csv/merged.csv");
  const auto outdir = dir / "out";
  struct Case {
    std::string format, path, options;
  };
  const Case cases[] = {{"GTiff", "m.tif", ""},
                        {"GTiff", "m_deflate.tif", R"(, "creation_options": ["COMPRESS=DEFLATE", "TILED=YES"])"},
                        {"COG", "m_cog.tif", R"(, "creation_options": ["COMPRESS=DEFLATE"])"},
                        {"netCDF", "m.nc", ""},
                        {"Zarr", "m.zarr", ""}};
  for (const auto& c : cases) {
    const std::string graph =
        raster_graph(dir, "r", R"(, "path": ")" + c.path + R"(", "format": ")" + c.format + "\"" + c.options);
    REQUIRE_MESSAGE(
        run_cli("run " + graph + " --output-dir " + outdir.string() + " --set merge.chunk_size=7", &out) == 0, out);
    const std::string file = (outdir / c.path).string();
    std::vector<std::string> names = {file};
    const bool cf = c.format == "netCDF" || c.format == "Zarr";
    if (cf) {
      // CF datasets: a variable per column, named after it, in its own type (#30).
      names.clear();
      for (const char* column : {"temperature", "elevation", "landcover"}) {
        names.push_back(c.format == "netCDF" ? "NETCDF:\"" + file + "\":" + column
                                             : "ZARR:\"" + file + "\":/" + column);
      }
    }
    INFO(c.format << " " << c.path);
    const Bands r = read_bands(names);
    check_equals_csv(r, csv, 3);
    // One band type for GTiff (Float32 holds the three), NaN its nodata; CF variables keep the
    // columns' types, and the Byte land cover has 255.
    CHECK(std::isnan(r.nodata[0]));
    CHECK(std::isnan(r.nodata[1]));
    CHECK((cf ? r.nodata[2] == 255.0 : std::isnan(r.nodata[2])));
    if (c.format == "GTiff" || c.format == "COG") {
      CHECK(joined(r.descriptions) == "temperature elevation landcover ");
    }
  }
  REQUIRE(run_shell("gdalinfo " + (outdir / "m_cog.tif").string(), &out) == 0);
  CHECK(out.find("LAYOUT=COG") != std::string::npos);
  CHECK(out.find("COMPRESSION=DEFLATE") != std::string::npos);
  // Nothing but the outputs: no .partial, no temporary GTiff.
  CHECK(joined(folder_names(outdir)) == "m.nc m.tif m.zarr m_cog.tif m_deflate.tif ");
}

TEST_CASE("RasterSink.Types.IntegerBandsAndAGivenNodata" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  // Land cover alone (nearest of a Byte source): a Byte band, nodata 255 by default.
  const std::string graph = R"({ "grid": { "crs": "EPSG:4326", "resolution": 0.05 }, "nodes": [
    { "id": "src", "type": "raster_source", "path": "../sample_data/landcover.tif" },
    { "id": "landcover", "type": "resample", "inputs": ["src"], "method": "nearest" },
    { "id": "merged", "type": "merge", "inputs": ["landcover"] },
    { "id": "table", "type": "raster_sink", "inputs": ["merged"], "path": "lc.tif" } ] })";
  rasterflow::test::write_text(dir / "graphs/lc.json", graph);
  REQUIRE_MESSAGE(
      run_cli("run " + (dir / "graphs/lc.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0, out);
  REQUIRE(run_shell("gdalinfo " + (dir / "o/lc.tif").string(), &out) == 0);
  CHECK_MESSAGE(out.find("Type=Byte") != std::string::npos, out);
  CHECK(out.find("NoData Value=255") != std::string::npos);
  // Float32 bands with a nodata of -9999 given.
  const std::string f32 = raster_graph(dir, "f32", R"(, "path": "f.tif", "data_type": "Float32", "nodata": -9999)");
  REQUIRE_MESSAGE(run_cli("run " + f32 + " --output-dir " + (dir / "o").string(), &out) == 0, out);
  REQUIRE(run_shell("gdalinfo " + (dir / "o/f.tif").string(), &out) == 0);
  CHECK(out.find("Type=Float32") != std::string::npos);
  CHECK(out.find("NoData Value=-9999") != std::string::npos);
}

TEST_CASE("RasterSink.GTiff.SameBytesForEveryTileSizeThreadsAndMode" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  for (const std::string options : {"", "COMPRESS=DEFLATE,TILED=YES,BLOCKYSIZE=16,BLOCKXSIZE=16"}) {
    std::string co;
    if (!options.empty())
      co = R"(, "creation_options": ["COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"])";
    const std::string graph = raster_graph(dir, "r", R"(, "path": "m.tif")" + co);
    std::string reference;
    for (const std::string run : {"--set merge.chunk_size=1 --threads 1", "--set merge.chunk_size=7 --threads 2",
                                  "--set merge.chunk_size=64 --threads 2 --in-memory", "--threads 2",
                                  "--set merge.chunk_size=3 --threads 2 --in-memory"}) {
      const auto outdir = dir / "o";
      std::filesystem::remove_all(outdir);
      REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + outdir.string() + " " + run, &out) == 0, out);
      const std::string bytes = rasterflow::test::read_text(outdir / "m.tif");
      if (reference.empty())
        reference = bytes;
      else
        CHECK_MESSAGE(bytes == reference, options << " " << run);
    }
  }
}

#ifdef RASTERFLOW_MPIEXEC
TEST_CASE("RasterSink.Mpi.TwoRanksSameBytesAsOneProcess" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  std::string mpirun = std::string(RASTERFLOW_MPIEXEC) +
                       " --oversubscribe -n 2 --mca btl self,vader --mca btl_vader_single_copy_mechanism none ";
  if (::geteuid() == 0) mpirun += "--allow-run-as-root ";
  for (const std::string& co : {std::string(), std::string(R"(, "creation_options": ["COMPRESS=DEFLATE"])")}) {
    const std::string graph = raster_graph(dir, "r", R"(, "path": "m.tif")" + co);
    std::filesystem::remove_all(dir / "one");
    std::filesystem::remove_all(dir / "two");
    REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "one").string() + " --set merge.chunk_size=8", &out) ==
            0);
    REQUIRE_MESSAGE(run_shell(mpirun + RASTERFLOW_CLI + " run " + graph + " --output-dir " + (dir / "two").string() +
                                  " --set merge.chunk_size=8",
                              &out) == 0,
                    out);
    CHECK(out.find("from 2 ranks") != std::string::npos);
    CHECK(rasterflow::test::read_text(dir / "two/m.tif") == rasterflow::test::read_text(dir / "one/m.tif"));
    CHECK(joined(folder_names(dir / "two")) == "m.tif ");
  }
}
#endif

TEST_CASE("RasterSink.BadInput.ClearErrorsAndNothingLeftBehind" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  const auto outdir = dir / "out";
  std::filesystem::create_directories(outdir);
  struct Case {
    std::string options;
    int code;
    std::string message;
  };
  const Case cases[] = {
      {R"(, "path": "m.tif", "format": "NoSuchDriver")", 2, R"(option "format": unknown GDAL driver "NoSuchDriver")"},
      {R"(, "path": "m.adf", "format": "AIG")", 2, R"(option "format": GDAL driver "AIG" cannot create files)"},
      {R"(, "path": "m.shp", "format": "ESRI Shapefile")", 2,
       R"(option "format": GDAL driver "ESRI Shapefile" does not write rasters)"},
      {R"(, "path": "m.tif", "creation_options": ["COMPRESS=BOGUS"])", 2, R"(option "creation_options": )"},
      {R"(, "path": "m.png", "format": "PNG")", 2,
       R"(option "data_type": GDAL driver "PNG" cannot store Float64 bands (the type the columns need))"},
      {R"(, "path": "m.tif", "data_type": "Byte", "nodata": 300)", 2,
       R"(option "nodata": 300 is not a value of the band type Byte)"},
      {R"(, "path": "missing/m.tif")", 2, R"(option "path": the output folder)"},
      // Fails while running: elevation takes the value 0.
      {R"(, "path": "m.tif", "nodata": 0)", 1, R"(option "nodata": column "elevation" has the value 0)"},
  };
  for (const auto& c : cases) {
    const std::string graph = raster_graph(dir, "bad", c.options);
    CHECK_MESSAGE(run_cli("run " + graph + " --output-dir " + outdir.string(), &out) == c.code, out);
    CHECK_MESSAGE(out.find(R"(node "table" (raster_sink): )" + c.message) != std::string::npos, out);
    CHECK_MESSAGE(folder_names(outdir).empty(), joined(folder_names(outdir)));
  }
}

TEST_CASE("RasterSink.Memory.PeakRssBoundedOn18MillionCells" * doctest::timeout(240)) {
  // The small sample set on a 1/600 degree grid: 6000 x 3000 = 18 M cells, three Float32 bands,
  // a 216 MB file. The run's peak RSS stays far below the file: rows go to GDAL block by block.
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  for (const std::string& co :
       {std::string(), std::string(R"(, "creation_options": ["COMPRESS=DEFLATE", "TILED=YES"])")}) {
    const std::string big = raster_graph(dir, "big", R"(, "path": "big.tif")" + co);
    std::string text = rasterflow::test::read_text(big);
    text.replace(text.find(R"("resolution": 0.05)"), std::string(R"("resolution": 0.05)").size(),
                 R"("resolution": 0.0016666666666666668)");
    for (const std::string method : {R"("method": "average")", R"("method": "average")"})
      text.replace(text.find(method), method.size(), R"("method": "nearest")");
    rasterflow::test::write_text(big, text);
    const auto time_file = dir / "time.txt";
    REQUIRE_MESSAGE(run_shell("/usr/bin/time -f %M -o " + time_file.string() + " " + RASTERFLOW_CLI + " run " + big +
                                  " --output-dir " + (dir / "o").string(),
                              &out) == 0,
                    out);
    const long kib = std::stol(rasterflow::test::read_text(time_file));
    const Bands header = [&] {
      GDALAllRegister();
      GDALDatasetH ds = GDALOpen((dir / "o/big.tif").c_str(), GA_ReadOnly);
      REQUIRE(ds != nullptr);
      Bands b;
      b.width = GDALGetRasterXSize(ds);
      b.height = GDALGetRasterYSize(ds);
      CHECK(GDALGetRasterDataType(GDALGetRasterBand(ds, 1)) == GDT_Float32);
      CHECK(GDALGetRasterCount(ds) == 3);
      GDALClose(ds);
      return b;
    }();
    CHECK(header.width * header.height == 18'000'000);
    if (co.empty()) CHECK(std::filesystem::file_size(dir / "o/big.tif") > 216'000'000u);
    MESSAGE("peak RSS " << kib / 1024 << " MiB" << co);
    CHECK(kib < 180 * 1024);
    std::filesystem::remove(dir / "o/big.tif");
  }
}
