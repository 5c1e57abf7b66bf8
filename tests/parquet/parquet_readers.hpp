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

}  // namespace rasterflow::test
