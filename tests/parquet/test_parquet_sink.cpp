// parquet_sink end to end: graphs run by the rasterflow command, beside a csv_sink on the same
// table, every Parquet file read back by DuckDB and Arrow's Rust reader and compared with the
// CSV; the same bytes whatever the threads and tiles; bad options refused before anything runs.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "parquet/parquet_readers.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"
#include "support/test_support.hpp"

using rasterflow::test::read_text;
using rasterflow::test::run_cli;
using rasterflow::test::run_shell;

using rasterflow::test::check_demo_run;
using rasterflow::test::demo_with_parquet;
using rasterflow::test::kDemoTypes;

TEST_CASE("ParquetSink.DemoGraph.ReadersAgreeWithTheCsv" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = demo_with_parquet(dir);
  std::string out;
  // Default (zstd, one row group), then every codec, row groups and tiles that do not line up
  // (groups of 5 grid rows of 200 cells, tiles of 7 rows), the in-memory export.
  const char* const runs[] = {"",
                              "--set nodes.pq.compression=snappy --set nodes.pq.row_group_size=1000 "
                              "--set merge.chunk_size=7 --threads 2",
                              "--set nodes.pq.compression=gzip --set nodes.pq.row_group_size=4096 --in-memory",
                              "--set nodes.pq.compression=none --set nodes.pq.row_group_size=997 --threads 1",
                              "--set nodes.pq.compression_level=19 --set nodes.pq.row_group_size=3333"};
  int k = 0;
  for (const std::string run : runs) {
    const auto o = dir / ("out" + std::to_string(k++));
    REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + o.string() + " " + run, &out) == 0, out);
    check_demo_run(o);
  }
  // The row groups as asked: whole grid rows, as many as fit in 3333 rows: 16 rows of 200 cells
  // (the demo keeps every cell), the last group the 4 rows left of 100.
  std::string report;
  CHECK(rasterflow::test::check_with_readers(
            dir / "out4/merged.parquet", dir / "out4/merged.csv",
            std::string("{\"types\":{") + kDemoTypes + "},\"row_groups\":[3200,3200,3200,3200,3200,3200,800]}",
            &report) == 0);
}

TEST_CASE("ParquetSink.SameBytes.WhateverTheThreadsAndTiles" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = demo_with_parquet(dir, R"(, "row_group_size": 2500)");
  std::string out;
  std::string reference;
  for (const std::string run :
       {"--threads 1 --set merge.chunk_size=1", "--threads 2 --set merge.chunk_size=13", "--threads 2 --in-memory"}) {
    const auto o = dir / "o";
    std::filesystem::remove_all(o);
    REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + o.string() + " " + run, &out) == 0, out);
    const std::string bytes = read_text(o / "merged.parquet");
    if (reference.empty()) reference = bytes;
    CHECK_MESSAGE(bytes == reference, run);
  }
}

TEST_CASE("ParquetSink.GeoParquet.PointsBboxAndProjjson" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = demo_with_parquet(dir, R"(, "geometry": "point", "bbox": true, "row_group_size": 6000)");
  std::string out;
  REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + (dir / "o").string(), &out) == 0, out);
  check_demo_run(dir / "o", ",\"geometry\":true,\"bbox\":true");
  // Without the bbox columns.
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "p").string() + " --set nodes.pq.bbox=false", &out) == 0);
  check_demo_run(dir / "p", ",\"geometry\":true");
}

TEST_CASE("ParquetSink.IntegerColumns.KeepTheirTypesAndNulls" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const char* const types[][3] = {{"Byte", "UTINYINT", "Uint8"},     {"Int16", "SMALLINT", "Int16"},
                                  {"UInt16", "USMALLINT", "Uint16"}, {"Int32", "INTEGER", "Int32"},
                                  {"UInt32", "BIGINT", "Int64"},     {"Float64", "DOUBLE", "Float64"}};
  std::string nodes;
  std::string inputs;
  std::string spec = R"({"types":{"x":["DOUBLE","Float64"],"y":["DOUBLE","Float64"])";
  std::size_t k = 0;
  for (const auto& t : types) {
    const std::string name = std::string("v_") + t[0];
    std::vector<double> values(30 * 20);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 37) % 250);
    values[5 + k++] = 200;  // the nodata value: null, in a row where the other columns have values
    rasterflow::test::write_raster(
        dir / (name + ".tif"),
        {.width = 30, .height = 20, .gt = {10, 0.5, 0, 50, 0, -0.5}, .type = t[0], .nodata = 200.0}, {values});
    nodes += R"({"id":")" + name + R"(_src","type":"raster_source","path":")" + name + R"(.tif"},)";
    nodes += R"({"id":")" + name + R"(","type":"resample","inputs":[")" + name + R"(_src"],"method":"nearest"},)";
    inputs += (inputs.empty() ? "\"" : ",\"") + name + "\"";
    spec += ",\"" + name + "\":[\"" + t[1] + "\",\"" + t[2] + "\"]";
  }
  rasterflow::test::write_text(
      dir / "graph.json",
      R"({"name":"ints","grid":{"crs":"EPSG:4326","resolution":0.5},"nodes":[)" + nodes +
          R"({"id":"merged","type":"merge","inputs":[)" + inputs +
          R"(]},{"id":"table","type":"csv_sink","inputs":["merged"],"path":"merged.csv"},)"
          R"({"id":"pq","type":"parquet_sink","inputs":["merged"],"path":"merged.parquet","row_group_size":77}]})");
  std::string out;
  REQUIRE_MESSAGE(run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0,
                  out);
  CHECK(read_text(dir / "o/merged.csv").find(",,") != std::string::npos);  // the nulls are there
  std::string report;
  CHECK_MESSAGE(
      rasterflow::test::check_with_readers(dir / "o/merged.parquet", dir / "o/merged.csv", spec + "}}", &report) == 0,
      report);
}

TEST_CASE("ParquetSink.BadInput.RefusedBeforeAnythingRuns" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = demo_with_parquet(dir);
  const auto refused = [&](const std::string& args, const std::string& option) {
    const auto o = dir / "refused";
    std::filesystem::remove_all(o);
    std::string out;
    CHECK_MESSAGE(run_cli("run " + graph + " --output-dir " + o.string() + " " + args, &out) != 0, args);
    CHECK_MESSAGE(out.find("node \"pq\" (parquet_sink)") != std::string::npos, out);
    CHECK_MESSAGE(out.find(option) != std::string::npos, out);
    // Nothing written, not even the CSV beside it.
    CHECK_FALSE(std::filesystem::exists(o / "merged.parquet.partial"));
    CHECK_FALSE(std::filesystem::exists(o / "merged.csv"));
  };
  refused("--set nodes.pq.compression=lz4", "option \"compression\": unknown value \"lz4\"");
  refused("--set nodes.pq.compression=snappy --set nodes.pq.compression_level=3", "option \"compression_level\"");
  refused("--set nodes.pq.compression_level=23", "option \"compression_level\": 23 is out of range");
  refused("--memory-limit 64MiB --set nodes.pq.row_group_size=10000000", "option \"row_group_size\"");
  refused("--set nodes.pq.bbox=true", "option \"bbox\"");
}

TEST_CASE("ParquetSink.GeometryWithoutProjjson.Refused" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::write_raster(dir / "nocrs.tif", {.width = 4, .height = 3, .gt = {0, 1, 0, 3, 0, -1}, .crs = ""},
                                 {std::vector<double>(12, 1.0)});
  rasterflow::test::write_text(
      dir / "graph.json",
      R"({"name":"n","grid":{"resolution":1},"nodes":[{"id":"s","type":"raster_source","path":"nocrs.tif"},)"
      R"({"id":"r","type":"resample","inputs":["s"],"method":"nearest"},{"id":"m","type":"merge","inputs":["r"]},)"
      R"({"id":"pq","type":"parquet_sink","inputs":["m"],"path":"n.parquet","geometry":"point"}]})");
  std::string out;
  const int rc = run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out);
  CHECK(rc != 0);
  CHECK_MESSAGE(out.find("node \"pq\" (parquet_sink): option \"geometry\": the grid has no CRS") != std::string::npos,
                out);
  CHECK_FALSE(std::filesystem::exists(dir / "o/n.parquet"));
  CHECK_FALSE(std::filesystem::exists(dir / "o/n.parquet.partial"));
}

TEST_CASE("ParquetSink.Units.KeyValueMetadataCarriesTheSourcesUnits" * doctest::timeout(300)) {
  // #30: each column's units, where its source has them, in the key-value metadata
  // "rasterflow.units" (a JSON object column -> units), as DuckDB's parquet_kv_metadata and
  // Arrow's reader give it; the columns without units are left out.
  rasterflow::test::TempDir dir;
  const std::string graph = demo_with_parquet(dir);
  std::string out;
  REQUIRE_MESSAGE(run_shell("/usr/bin/python3 -c \"from osgeo import gdal; d = gdal.Open('" +
                                (dir / "sample_data/temperature.tif").string() +
                                "', gdal.GA_Update); d.GetRasterBand(1).SetUnitType('degC'); d = None\" 2>&1",
                            &out) == 0,
                  out);
  REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + (dir / "o").string(), &out) == 0, out);
  check_demo_run(dir / "o", R"(,"kv_json":{"rasterflow.units":{"temperature":"degC"}})");
}
