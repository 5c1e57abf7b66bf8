#include "rasterflow/errors.hpp"

#include <algorithm>

namespace rasterflow {

void throw_config_error(const std::string& where, const std::string& what) { throw ConfigError(where + ": " + what); }
void throw_graph_error(const std::string& where, const std::string& what) { throw GraphError(where + ": " + what); }
void throw_io_error(const std::string& where, const std::string& what) { throw IoError(where + ": " + what); }
void throw_node_error(const std::string& where, const std::string& what) { throw NodeError(where + ": " + what); }

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best.empty() ? std::string{} : " (did you mean \"" + best + "\"?)";
}

}  // namespace rasterflow
