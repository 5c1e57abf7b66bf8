#pragma once
// "a, b, c": a list of names for a message or a reference page (engine-private).
#include <string>
#include <vector>

namespace rasterflow::detail {

inline std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

}  // namespace rasterflow::detail
