#pragma once
// Test doubles and helpers: temporary folders, rasters written with GDAL in the test itself,
// graphs run through the library, and gdalwarp references computed with GDAL's own API.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/grid.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct RasterSpec {
  std::int64_t width = 0;
  std::int64_t height = 0;
  GeoTransform gt{0, 1, 0, 0, 0, -1};
  std::string type = "Float32";  // GDAL data type name
  std::optional<double> nodata;
  std::string crs = "EPSG:4326";  // "" for none
  int bands = 1;
  // GTiff creation options; the default is tiled 16 x 16, DEFLATE.
  std::vector<std::string> creation_options = {"TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "COMPRESS=DEFLATE"};
};
// Writes a GeoTIFF whose band b has values[b][row * width + col] (or values[0] for every band).
void write_raster(const std::filesystem::path& path, const RasterSpec& spec,
                  const std::vector<std::vector<double>>& values);

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

// Writes `graph_json` to dir/graph.json, plans it with `options` and runs it as `run` says.
RunSummary run_graph_json(const std::filesystem::path& dir, const std::string& graph_json, PlanOptions options = {},
                          const std::vector<std::string>& sets = {}, Run run = {});

// gdalwarp on exactly `grid` (-te/-ts, -et 0, -r method, -ot out_type or the source's type),
// through GDALWarp() into memory. NaN for nodata cells.
// A CSV's first value column on grid `g`, row-major (NaN where the CSV has no row or an empty
// value): cells are found from the x and y of each row.
std::vector<double> csv_to_grid(const std::string& csv, const Grid& g);

std::vector<double> gdalwarp_reference(const std::filesystem::path& source, const Grid& grid, const std::string& method,
                                       const std::string& out_type = "", int band = 1,
                                       const std::vector<std::string>& extra = {});

// Runs a shell command; returns its exit code and fills its stdout and stderr, merged.
int run_shell(const std::string& command, std::string* output = nullptr);
// Runs the rasterflow binary with arguments; returns its exit code and fills stderr text.
int run_cli(const std::string& args, std::string* output = nullptr);

// `rasterflow sample-data dir/sample_data --size small` and the repository's demo graph in
// dir/graphs/demo.json (it reads ../sample_data). Returns the graph's path.
std::string make_demo_project(const TempDir& dir);

#ifdef RASTERFLOW_MPIEXEC
// `mpirun -n <ranks>` with the options these tests need on one machine (oversubscribed,
// shared-memory transport, as root when run as root), then the rasterflow binary and a space.
std::string mpirun_rasterflow(int ranks);
#endif

// The first column of the first row of `sql` on the SQLite database `db` (-1: no row).
long long sqlite_number(const std::filesystem::path& db, const std::string& sql);

}  // namespace rasterflow::test
