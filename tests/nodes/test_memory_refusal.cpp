// Memory refusals name the source (issue #29): when the memory limit cannot hold what the nodes
// need before any tile, the message names the node that asks the most, how much, and the file
// it reads (its size and blocks as the file claims them), not only the total.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"
#include "support/tiff_builder.hpp"

using namespace rasterflow;

TEST_CASE("MemoryRefusal.NamesTheNodeAndFileThatAskTheMost" * doctest::timeout(240)) {
  test::TempDir dir;
  // 2^22 x 64 Int16 pixels in 64 x 64 tiles claimed by a file of a few KiB: one grid row of its
  // cells and a row of its blocks need more than 128 MiB.
  test::TiffBuild b{.width = 1u << 22, .height = 64, .block_width = 64, .block_height = 64, .claimed_blocks = 1u << 20};
  b.blocks = {std::string(64 * 64 * 2, '\x01')};
  test::write_tiff(dir / "claims.tif", b);
  test::write_raster(dir / "small.tif", {.width = 16, .height = 16, .gt = {0, 4, 0, 64, 0, -4}, .type = "Int16"},
                     {std::vector<double>(16 * 16, 3.0)});
  test::write_text(dir / "graph.json", R"({"grid": {"resolution": 1, "extent": "union"}, "nodes": [
    {"id": "small_src", "type": "raster_source", "path": "small.tif"},
    {"id": "src", "type": "raster_source", "path": "claims.tif"},
    {"id": "small", "type": "resample", "inputs": ["small_src"], "method": "nearest"},
    {"id": "v", "type": "resample", "inputs": ["src"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["small", "v"]},
    {"id": "table", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})");
  for (const std::string command : {"plan", "run"}) {
    CAPTURE(command);
    std::string out;
    const std::string output_dir = command == "run" ? " --output-dir " + (dir / "o").string() : "";
    const int code = test::run_cli(
        command + " " + (dir / "graph.json").string() + output_dir + " --set memory.limit=128MiB metrics.backend=none",
        &out);
    CAPTURE(out);
    CHECK(code == 2);
    CHECK(out.find("memory.limit: 128.0 MiB is too small for this graph") != std::string::npos);
    CHECK(out.find("; the most for node \"v\" (resample): ") != std::string::npos);
    CHECK(out.find("reading " + (dir / "claims.tif").string() + ": 4194304 x 64 Int16 in blocks of 64 x 64") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "o/out.csv"));
  }
}
