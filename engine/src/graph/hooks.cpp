#include "rasterflow/node/hooks.hpp"

#include <utility>

#include "rasterflow/errors.hpp"

namespace rasterflow {

namespace {
// Without a node library that knows sources: the grid as the graph gives it, whole.
GridDecision explicit_grid(const GridSpec& spec, const std::string& where, std::span<Node* const>) {
  if (spec.extent_mode != ExtentMode::explicit_ || !spec.resolution) {
    throw_graph_error(
        where,
        "give \"extent\": [xmin, ymin, xmax, ymax] and \"resolution\" (no node library derives the grid from sources)");
  }
  const std::array<double, 2> origin = spec.origin.value_or(std::array<double, 2>{0.0, 0.0});
  return {lattice_grid(spec.extent, (*spec.resolution)[0], (*spec.resolution)[1], origin[0], origin[1],
                       spec.crs.value_or("")),
          "explicit extent"};
}

ResolvedInput plain_input_path(const std::string& text, const std::filesystem::path& base) {
  const bool remote =
      text.rfind("/vsi", 0) == 0 || text.find("://") != std::string::npos || text.find(":::") != std::string::npos;
  const std::filesystem::path p(text);
  if (remote || !p.is_relative()) return {text, remote};
  return {(base / p).lexically_normal().string(), false};
}

EngineHooks& registered() {
  static EngineHooks h{
      .normalize_crs = [](const std::string& text, const std::string&) { return text; },
      .crs_label = [](const std::string& crs) { return crs.empty() ? std::string("(none)") : crs; },
      .set_read_cache_bytes = [](std::uint64_t) {},
      .resolve_input_path = plain_input_path,
      .resolve_grid = explicit_grid,
      .tile_alignment = [](std::span<Node* const>) { return TileAlignment{}; },
      .input_pixels = [](std::span<Node* const>, std::int64_t, std::int64_t) { return 0.0; },
  };
  return h;
}
}  // namespace

bool register_hooks(EngineHooks hooks) {
  EngineHooks& h = registered();
  if (hooks.normalize_crs) h.normalize_crs = std::move(hooks.normalize_crs);
  if (hooks.crs_label) h.crs_label = std::move(hooks.crs_label);
  if (hooks.set_read_cache_bytes) h.set_read_cache_bytes = std::move(hooks.set_read_cache_bytes);
  if (hooks.resolve_input_path) h.resolve_input_path = std::move(hooks.resolve_input_path);
  if (hooks.resolve_grid) h.resolve_grid = std::move(hooks.resolve_grid);
  if (hooks.tile_alignment) h.tile_alignment = std::move(hooks.tile_alignment);
  if (hooks.input_pixels) h.input_pixels = std::move(hooks.input_pixels);
  return true;
}

const EngineHooks& hooks() { return registered(); }

}  // namespace rasterflow
