// Decoding strategies (nodes/read/decoding_policy.hpp): the ladder picks the fastest strategy
// that fits, every strategy writes the same bytes, and a damaged block fails the run naming the
// file and the block whichever strategy reads it.
#include <doctest/doctest.h>

#include <gdal.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "nodes/read/decoding_policy.hpp"
#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;
using nodes::Decoding;
using nodes::DecodingPrice;

namespace {

const char* const kStrategies[] = {"block_rows",    "lean_block_rows", "streams",
                                   "small_streams", "zlib_streams",    "gdal_cache"};

// Writes `name` (values varied enough to give DEFLATE real work, within every type's range) and
// returns the graph that averages it 2 x 2 onto a grid, into o.csv, decoded as `decoding`.
std::string write_source(const test::TempDir& dir, const std::string& name, const std::string& type,
                         std::vector<std::string> options) {
  const int width = 300;
  const int height = 200;
  const bool floating = type.rfind("Float", 0) == 0;
  const bool is_signed = type.rfind("Int", 0) == 0 || floating;
  std::vector<double> v(static_cast<std::size_t>(width * height));
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      double x = static_cast<double>((c * 131 + r * 71) % 251);
      if (is_signed) x -= 100.0;
      if (floating) x += 0.37 * static_cast<double>(r % 7) + 1e-3 * static_cast<double>(c % 13);
      v[static_cast<std::size_t>(r * width + c)] = x;
    }
  }
  test::RasterSpec spec{.width = width,
                        .height = height,
                        .gt = {0.0, 0.01, 0.0, 2.0, 0.0, -0.01},
                        .type = type,
                        .creation_options = std::move(options)};
  test::write_raster(dir / name, spec, {v});
  return name;
}

std::string graph_for(const std::string& file, const std::string& decoding) {
  return R"({"grid": {"resolution": 0.02}, "nodes": [
    {"id": "s", "type": "raster_source", "path": ")" +
         file + R"(", "decoding": ")" + decoding + R"("},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
    {"id": "n", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v", "n"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
}

}  // namespace

TEST_CASE("Decoding.LadderPicksTheFastestThatFits") {
  // Given prices (bytes held, CPU per pixel), as the planner sees them.
  const std::vector<DecodingPrice> prices = {{Decoding::gdal_cache, 0, 25.0},    {Decoding::zlib_streams, 20, 3.3},
                                             {Decoding::block_rows, 100, 1.0},   {Decoding::lean_block_rows, 70, 1.25},
                                             {Decoding::small_streams, 30, 2.2}, {Decoding::streams, 40, 2.1}};
  const auto kind = [&](std::size_t budget) {
    const auto p = nodes::fastest_within(prices, budget);
    return p ? std::string(nodes::decoding_name(p->kind)) : std::string("none");
  };
  CHECK(kind(1000) == "block_rows");
  CHECK(kind(100) == "block_rows");
  CHECK(kind(99) == "lean_block_rows");
  CHECK(kind(70) == "lean_block_rows");
  CHECK(kind(69) == "streams");
  CHECK(kind(40) == "streams");
  CHECK(kind(35) == "small_streams");
  CHECK(kind(25) == "zlib_streams");
  CHECK(kind(19) == "gdal_cache");
  CHECK(kind(0) == "gdal_cache");
  // The ladder is ordered by cost, and leaves out what is slower and holds no less.
  std::vector<DecodingPrice> dominated = prices;
  dominated.push_back({Decoding::streams, 150, 2.0});  // faster than streams at 40, but holds more than block_rows
  const auto ladder = nodes::decoding_ladder(dominated);
  std::vector<std::string> names;
  for (const auto& p : ladder) names.emplace_back(nodes::decoding_name(p.kind));
  CHECK(names == std::vector<std::string>{"block_rows", "lean_block_rows", "streams", "small_streams", "zlib_streams",
                                          "gdal_cache"});
  CHECK(ladder[2].bytes == 40);
  // Without a way to hold less, the fastest is the only one; nothing fits below its bytes.
  CHECK(!nodes::fastest_within({{Decoding::block_rows, 100, 1.0}}, 99).has_value());
  // The measured prices order the strategies as the ladder steps through them.
  CHECK(nodes::measured_cost(Decoding::block_rows) < nodes::measured_cost(Decoding::lean_block_rows));
  CHECK(nodes::measured_cost(Decoding::lean_block_rows) < nodes::measured_cost(Decoding::streams));
  CHECK(nodes::measured_cost(Decoding::streams) < nodes::measured_cost(Decoding::small_streams));
  CHECK(nodes::measured_cost(Decoding::small_streams) < nodes::measured_cost(Decoding::zlib_streams));
  CHECK(nodes::measured_cost(Decoding::zlib_streams) < nodes::measured_cost(Decoding::gdal_cache));
}

TEST_CASE("Decoding.EveryStrategyWritesTheSameBytes" * doctest::timeout(240)) {
  // Every type, compression and predictor: each strategy the file allows writes the bytes the
  // default (block_rows) writes; the others are refused with the reason.
  test::TempDir dir;
  int compared = 0;
  for (const std::string type : {"Byte", "Int16", "UInt16", "Int32", "Float32", "Float64"}) {
    const bool floating = type.rfind("Float", 0) == 0;
    std::vector<std::vector<std::string>> variants = {
        {"COMPRESS=NONE"}, {"COMPRESS=DEFLATE"}, {"COMPRESS=DEFLATE", "PREDICTOR=2"}, {"COMPRESS=LZW"}};
    if (floating) variants.push_back({"COMPRESS=DEFLATE", "PREDICTOR=3"});
    for (const bool tiled : {true, false}) {
      for (auto options : variants) {
        if (tiled) {
          options.insert(options.end(), {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
        } else {
          options.emplace_back("BLOCKYSIZE=32");  // strips of 32 rows
        }
        std::string name = type + (tiled ? "_tiled" : "_strips");
        for (const auto& o : options) name += "_" + o.substr(o.find('=') + 1);
        name += ".tif";
        CAPTURE(name);
        const std::string file = write_source(dir, name, type, options);
        test::run_graph_json(dir.path(), graph_for(file, "auto"), {}, {"engine.threads=2"});
        const std::string reference = test::read_text(dir / "o.csv");
        CHECK(reference.size() > 1000);
        const bool streams = options[0] != "COMPRESS=LZW";
        for (const std::string decoding : kStrategies) {
          CAPTURE(decoding);
          const bool allowed =
              streams || decoding == "block_rows" || decoding == "lean_block_rows" || decoding == "gdal_cache";
          if (!allowed) {
            CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph_for(file, decoding)),
                                 doctest::Contains("option \"decoding\""), GraphError);
            continue;
          }
          std::filesystem::remove(dir / "o.csv");
          test::run_graph_json(dir.path(), graph_for(file, decoding), {}, {"engine.threads=2"});
          CHECK(test::read_text(dir / "o.csv") == reference);
          ++compared;
        }
      }
    }
  }
  CHECK(compared == 6 * 2 * (6 * 3 + 3) + 2 * 2 * 6);
}

TEST_CASE("Decoding.DamagedBlockFailsTheRunNamingFileAndBlock" * doctest::timeout(240)) {
  // Block (1, 1) of a tiled DEFLATE file is damaged past its zlib header (block row 0 is intact,
  // so the streams' check at opening passes): whichever strategy reads it, the run fails (exit
  // 1) naming the node, the file and the block, and leaves no output.
  test::TempDir dir;
  const std::string file =
      write_source(dir, "damaged.tif", "Float32", {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
  const std::string path = (dir / file).string();
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  const char* offset_text = GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "BLOCK_OFFSET_1_1", "TIFF");
  REQUIRE(offset_text != nullptr);
  const long offset = std::atol(offset_text);
  GDALClose(ds);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset + 2);
    const std::string garbage(64, '\xff');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (const std::string decoding : kStrategies) {
    CAPTURE(decoding);
    test::write_text(dir / "graph.json", graph_for(file, decoding));
    std::string out;
    const int code =
        test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out);
    CAPTURE(out);
    CHECK(code == 1);
    CHECK(out.find("node \"s\" (raster_source)") != std::string::npos);
    CHECK(out.find(path) != std::string::npos);
    // The block: as the streams name it, as the block rows name it, or as GDAL's cache does.
    const bool named = out.find("tile 1 of tile row 1 (rows 64-127)") != std::string::npos ||
                       out.find("block 1 of block row 1 (rows 64-127)") != std::string::npos ||
                       (out.find("(block row 1 (rows 64-127)) through GDAL's cache") != std::string::npos &&
                        out.find("X offset 1, Y offset 1") != std::string::npos);
    CHECK(named);
    CHECK(!std::filesystem::exists(dir / "o" / "o.csv"));
    CHECK(!std::filesystem::exists(dir / "o" / "o.csv.partial"));
  }
}
