#include "support/test_support.hpp"

#include <sqlite3.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_srs_api.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "rasterflow/config.hpp"
#include "rasterflow/graph.hpp"

namespace rasterflow::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rasterflow-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_raster(const std::filesystem::path& path, const RasterSpec& spec,
                  const std::vector<std::vector<double>>& values) {
  GDALAllRegister();
  const GDALDataType type = GDALGetDataTypeByName(spec.type.c_str());
  std::vector<const char*> options;
  for (const auto& o : spec.creation_options) options.push_back(o.c_str());
  options.push_back(nullptr);
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), static_cast<int>(spec.width),
                               static_cast<int>(spec.height), spec.bands, type, const_cast<char**>(options.data()));
  if (ds == nullptr) throw std::runtime_error("cannot create " + path.string());
  GeoTransform gt = spec.gt;
  GDALSetGeoTransform(ds, gt.data());
  if (!spec.crs.empty()) {
    OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
    OSRSetFromUserInput(srs, spec.crs.c_str());
    char* wkt = nullptr;
    OSRExportToWkt(srs, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
  }
  for (int b = 1; b <= spec.bands; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    if (spec.nodata) GDALSetRasterNoDataValue(band, *spec.nodata);
    auto data = values[values.size() == 1 ? 0 : static_cast<std::size_t>(b - 1)];
    if (GDALRasterIO(band, GF_Write, 0, 0, static_cast<int>(spec.width), static_cast<int>(spec.height), data.data(),
                     static_cast<int>(spec.width), static_cast<int>(spec.height), GDT_Float64, 0, 0) != CE_None) {
      throw std::runtime_error("cannot write " + path.string());
    }
  }
  GDALClose(ds);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

RunSummary run_graph_json(const std::filesystem::path& dir, const std::string& graph_json, PlanOptions options,
                          const std::vector<std::string>& sets, Run run) {
  write_text(dir / "graph.json", graph_json);
  Config config;
  for (const auto& s : sets) config.set(s);
  const GraphSpec graph = load_graph(dir / "graph.json", config);
  if (options.output_dir == ".") options.output_dir = dir;
  Pipeline pipeline(graph, config, options);
  return pipeline.run(std::move(run));
}

std::vector<double> gdalwarp_reference(const std::filesystem::path& source, const Grid& grid, const std::string& method,
                                       const std::string& out_type, int band, const std::vector<std::string>& extra) {
  GDALAllRegister();
  GDALDatasetH src = GDALOpen(source.c_str(), GA_ReadOnly);
  if (src == nullptr) throw std::runtime_error("cannot open " + source.string());
  if (band != 1) {  // gdalwarp 3.6 has no -b: take the band out with gdal_translate first
    std::string b = std::to_string(band);
    char* targs[] = {const_cast<char*>("-of"), const_cast<char*>("MEM"), const_cast<char*>("-b"), b.data(), nullptr};
    GDALTranslateOptions* t = GDALTranslateOptionsNew(targs, nullptr);
    GDALDatasetH one = GDALTranslate("", src, t, nullptr);
    GDALTranslateOptionsFree(t);
    GDALClose(src);
    src = one;
  }
  const Extent e = grid.extent();
  std::vector<std::string> args = {"-of",
                                   "MEM",
                                   "-r",
                                   method,
                                   "-et",
                                   "0",
                                   "-te",
                                   std::to_string(e.xmin),
                                   std::to_string(e.ymin),
                                   std::to_string(e.xmax),
                                   std::to_string(e.ymax),
                                   "-ts",
                                   std::to_string(grid.width),
                                   std::to_string(grid.height),
                                   "-t_srs",
                                   grid.crs,
                                   "-dstnodata",
                                   "nan"};
  // -te through text would round: pass the exact extent with full precision instead.
  char buf[64];
  const double exact[4] = {e.xmin, e.ymin, e.xmax, e.ymax};
  for (int i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%.17g", exact[i]);
    args[7 + i] = buf;
  }
  const std::string type = out_type.empty() ? "Float64" : out_type;
  args.push_back("-ot");
  args.push_back(type);
  if (type != "Float32" && type != "Float64") {  // integer outputs keep the source's nodata
    args.erase(std::find(args.begin(), args.end(), "-dstnodata"),
               std::find(args.begin(), args.end(), "-dstnodata") + 2);
  }
  for (const auto& x : extra) args.push_back(x);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.data(), nullptr);
  if (options == nullptr) throw std::runtime_error("gdalwarp options refused: " + std::string(CPLGetLastErrorMsg()));
  int usage_error = 0;
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, &usage_error);
  GDALWarpAppOptionsFree(options);
  if (out == nullptr) throw std::runtime_error("GDALWarp failed: " + std::string(CPLGetLastErrorMsg()));
  std::vector<double> values(static_cast<std::size_t>(grid.cells()));
  GDALRasterBandH b = GDALGetRasterBand(out, 1);
  GDALRasterIO(b, GF_Read, 0, 0, static_cast<int>(grid.width), static_cast<int>(grid.height), values.data(),
               static_cast<int>(grid.width), static_cast<int>(grid.height), GDT_Float64, 0, 0);
  int has_nodata = 0;
  const double nodata = GDALGetRasterNoDataValue(b, &has_nodata);
  if (has_nodata && !std::isnan(nodata)) {
    for (auto& v : values) {
      if (v == nodata) v = std::nan("");
    }
  }
  GDALClose(out);
  GDALClose(src);
  return values;
}

int run_shell(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
  const int status = ::pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_cli(const std::string& args, std::string* output) {
  return run_shell(std::string(RASTERFLOW_CLI) + " " + args, output);
}

std::string make_demo_project(const TempDir& dir) {
  std::string out;
  if (run_cli("sample-data " + (dir / "sample_data").string() + " --size small", &out) != 0) {
    throw std::runtime_error("rasterflow sample-data failed: " + out);
  }
  std::filesystem::create_directories(dir / "graphs");
  std::filesystem::copy_file(std::string(RASTERFLOW_SOURCE_DIR) + "/graphs/demo.json", dir / "graphs/demo.json");
  return (dir / "graphs/demo.json").string();
}

long long sqlite_number(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    throw std::runtime_error("cannot open " + db.string());
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    const std::string error = sqlite3_errmsg(conn);
    sqlite3_close(conn);
    throw std::runtime_error(sql + ": " + error);
  }
  long long n = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return n;
}

#ifdef RASTERFLOW_MPIEXEC
std::string mpirun_rasterflow(int ranks) {
  std::string cmd = std::string(RASTERFLOW_MPIEXEC) + " --oversubscribe -n " + std::to_string(ranks) +
                    " --mca btl self,vader --mca btl_vader_single_copy_mechanism none ";
  if (::geteuid() == 0) cmd += "--allow-run-as-root ";
  return cmd + RASTERFLOW_CLI + " ";
}
#endif

std::vector<double> csv_to_grid(const std::string& csv, const Grid& g) {
  std::vector<double> out(static_cast<std::size_t>(g.cells()), std::nan(""));
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string xs, ys, vs;
    std::getline(fields, xs, ',');
    std::getline(fields, ys, ',');
    std::getline(fields, vs, ',');
    const auto col = static_cast<std::int64_t>(std::floor((std::stod(xs) - g.x0) / g.res_x));
    const auto row = static_cast<std::int64_t>(std::floor((g.y0 - std::stod(ys)) / g.res_y));
    if (!vs.empty()) out[static_cast<std::size_t>(row * g.width + col)] = std::stod(vs);
  }
  return out;
}

}  // namespace rasterflow::test
