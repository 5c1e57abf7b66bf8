// libFuzzer target: the config.yml loader. Any input must give a Config or a ConfigError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    rasterflow::Config::parse(text, "fuzz.yml");
  } catch (const rasterflow::ConfigError&) {
  }
  return 0;
}
