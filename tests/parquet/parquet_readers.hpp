#pragma once
// The independent readers' verdict on a Parquet file (tests/parquet/check_parquet.mjs, run
// with Node.js on the pinned npm packages the fixture Parquet.InstallReaders installs).
#include <filesystem>
#include <string>

namespace rasterflow::test {

// Runs check_parquet.mjs on `parquet` against `csv` with `spec` (its JSON text); returns its
// exit code and fills its report.
int check_with_readers(const std::filesystem::path& parquet, const std::filesystem::path& csv, const std::string& spec,
                       std::string* report);

class TempDir;

// The types of the demo graph's table as DuckDB and Arrow name them (check_parquet.mjs's spec).
extern const char* const kDemoTypes;

// The demo project in `dir` with a parquet_sink "pq" (merged.parquet; extra options
// `pq_options`, as JSON members after a comma) beside its csv_sink. Returns the graph's path.
std::string demo_with_parquet(const TempDir& dir, const std::string& pq_options = "");

// Checks out/merged.parquet with both readers against out/merged.csv (demo types, the
// rasterflow key-value metadata, and `spec_extra` JSON members); no .partial left.
void check_demo_run(const std::filesystem::path& out, const std::string& spec_extra = "");

}  // namespace rasterflow::test
