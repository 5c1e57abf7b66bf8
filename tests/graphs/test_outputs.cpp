#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

using rasterflow::test::run_cli;
using rasterflow::test::run_shell;

namespace {

// Decompresses `file` with the command-line tool (zcat or zstdcat) into text.
std::string decompressed(const std::string& tool, const std::filesystem::path& file,
                         const rasterflow::test::TempDir& dir) {
  const auto plain = dir / "decompressed.csv";
  std::string out;
  REQUIRE_MESSAGE(run_shell(tool + " " + file.string() + " > " + plain.string(), &out) == 0, out);
  return rasterflow::test::read_text(plain);
}

std::string first_bytes(const std::filesystem::path& file, std::size_t n) {
  return rasterflow::test::read_text(file).substr(0, n);
}

}  // namespace

TEST_CASE("CompressedCsv.GzAndZst.DecompressToThePlainBytes" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "plain").string(), &out) == 0);
  const std::string reference = rasterflow::test::read_text(dir / "plain/merged.csv");
  REQUIRE(reference.size() > 100000);
  // Tile heights (1 row: hundreds of members or frames), threads, streaming and in-memory.
  const char* const runs[] = {"--set merge.chunk_size=1 --threads 1", "--set merge.chunk_size=7 --threads 2",
                              "--set merge.chunk_size=64 --threads 2 --in-memory", "--threads 2"};
  for (const std::string ext : {"gz", "zst"}) {
    for (const std::string run : runs) {
      const auto outdir = dir / ("out_" + ext);
      std::filesystem::remove_all(outdir);
      REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + outdir.string() +
                                  " --set nodes.table.path=merged.csv." + ext + " " + run,
                              &out) == 0,
                      out);
      const auto file = outdir / ("merged.csv." + ext);
      REQUIRE(std::filesystem::exists(file));
      CHECK_FALSE(std::filesystem::exists(outdir / ("merged.csv." + ext + ".partial")));
      CHECK(std::filesystem::file_size(file) < reference.size() / 2);
      CHECK(first_bytes(file, ext == "gz" ? 3 : 4) ==
            (ext == "gz" ? std::string("\x1f\x8b\x08", 3) : std::string("\x28\xb5\x2f\xfd")));
      CHECK_MESSAGE(decompressed(ext == "gz" ? "zcat" : "zstdcat", file, dir) == reference, ext << " " << run);
    }
  }
  // One zstd frame per tile: 100 grid rows in tiles of 7 rows make 15 frames.
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "frames").string() +
                      " --set nodes.table.path=merged.csv.zst --set merge.chunk_size=7 --threads 2",
                  &out) == 0);
  REQUIRE(run_shell("zstd -lv " + (dir / "frames/merged.csv.zst").string(), &out) == 0);
  CHECK_MESSAGE(out.find("# Zstandard Frames: 15") != std::string::npos, out);
}

TEST_CASE("CompressedCsv.Option.OverridesThePathAndSetsTheLevel" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "plain").string(), &out) == 0);
  const std::string reference = rasterflow::test::read_text(dir / "plain/merged.csv");
  // compression: gzip on a path without .gz; levels 1 and 9 give different files, the same text.
  std::uintmax_t sizes[2] = {};
  for (const int level : {1, 9}) {
    const auto outdir = dir / ("level" + std::to_string(level));
    REQUIRE_MESSAGE(
        run_cli("run " + graph + " --output-dir " + outdir.string() +
                    " --set nodes.table.compression=gzip --set nodes.table.compression_level=" + std::to_string(level),
                &out) == 0,
        out);
    CHECK(first_bytes(outdir / "merged.csv", 2) == "\x1f\x8b");
    CHECK(decompressed("zcat", outdir / "merged.csv", dir) == reference);
    sizes[level == 1 ? 0 : 1] = std::filesystem::file_size(outdir / "merged.csv");
  }
  CHECK(sizes[1] < sizes[0]);
  // compression: none on a .gz path writes plain text.
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "none").string() +
                      " --set nodes.table.path=merged.csv.gz --set nodes.table.compression=none",
                  &out) == 0);
  CHECK(rasterflow::test::read_text(dir / "none/merged.csv.gz") == reference);
  // The plan says how the file is written.
  REQUIRE(run_cli("plan " + graph + " --set nodes.table.path=merged.csv.zst", &out) == 0);
  CHECK_MESSAGE(out.find("compressed with zstd level 3, one zstd frame per tile") != std::string::npos, out);
}

TEST_CASE("CompressedCsv.BadLevel.ClearErrorBeforeRunning") {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  const auto outdir = dir / "out";
  std::filesystem::create_directories(outdir);
  CHECK(run_cli("run " + graph + " --output-dir " + outdir.string() +
                    " --set nodes.table.path=m.csv.zst --set nodes.table.compression_level=40",
                &out) == 2);
  CHECK_MESSAGE(out.find("node \"table\" (csv_sink): option \"compression_level\": 40 is out of range for zstd "
                         "(expected 1 to 22)") != std::string::npos,
                out);
  CHECK(run_cli("run " + graph + " --output-dir " + outdir.string() + " --set nodes.table.compression_level=5", &out) ==
        2);
  CHECK_MESSAGE(out.find("option \"compression_level\": the output is not compressed") != std::string::npos, out);
  CHECK(run_cli("run " + graph + " --output-dir " + outdir.string() + " --set nodes.table.compression=lz4", &out) == 2);
  CHECK_MESSAGE(out.find("option \"compression\": unknown value \"lz4\"") != std::string::npos, out);
  CHECK(std::filesystem::is_empty(outdir));
}
