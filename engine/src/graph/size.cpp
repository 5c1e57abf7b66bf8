#include "rasterflow/size.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace rasterflow {

std::optional<std::uint64_t> parse_size(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || !std::isfinite(number) || number < 0) return std::nullopt;
  std::string unit(end, text.data() + text.size());
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  double factor = 1;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else {
    const char prefix = unit[0];
    const std::string rest = unit.substr(1);
    int power = 0;
    switch (prefix) {
      case 'K':
        power = 1;
        break;
      case 'M':
        power = 2;
        break;
      case 'G':
        power = 3;
        break;
      case 'T':
        power = 4;
        break;
      default:
        return std::nullopt;
    }
    double base = 0;
    if (rest.empty() || rest == "IB" || rest == "I") {
      base = 1024;
    } else if (rest == "B") {
      base = 1000;
    } else {
      return std::nullopt;
    }
    factor = std::pow(base, power);
  }
  const double bytes = std::round(number * factor);
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

std::string sbatch_mem(std::uint64_t bytes) {
  const double mib = std::ceil(static_cast<double>(bytes) / (1024.0 * 1024.0));
  char text[64];
  if (mib >= 4096)
    std::snprintf(text, sizeof text, "%.0fG", std::ceil(mib / 1024.0));
  else
    std::snprintf(text, sizeof text, "%.0fM", mib);
  return text;
}

std::string format_size(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  if (unit == 0) {
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f %s", value, kUnits[unit]);
  }
  return buffer;
}

}  // namespace rasterflow
