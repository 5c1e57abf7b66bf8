#include "parquet/parquet_readers.hpp"

#include "support/test_support.hpp"

namespace rasterflow::test {

int check_with_readers(const std::filesystem::path& parquet, const std::filesystem::path& csv, const std::string& spec,
                       std::string* report) {
  const std::filesystem::path spec_file = parquet.string() + ".spec.json";
  write_text(spec_file, spec);
  return run_shell(std::string("node ") + RASTERFLOW_SOURCE_DIR + "/tests/parquet/check_parquet.mjs " +
                       RASTERFLOW_PARQUET_READERS + " " + parquet.string() + " " + csv.string() + " " +
                       spec_file.string(),
                   report);
}

}  // namespace rasterflow::test
