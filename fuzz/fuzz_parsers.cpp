// libFuzzer target: sizes, database URLs (checking and masking) and --set assignments.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/size.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)rasterflow::parse_size(text);
  const std::string masked = rasterflow::mask_password(text);
  if (rasterflow::mask_password(masked) != masked) __builtin_trap();  // masking is idempotent
  try {
    rasterflow::check_database_url(text, "database.url");
  } catch (const rasterflow::ConfigError&) {
  }
  try {
    rasterflow::Config c;
    c.set(text);
  } catch (const rasterflow::ConfigError&) {
  }
  return 0;
}
