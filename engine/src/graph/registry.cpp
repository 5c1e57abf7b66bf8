#include "rasterflow/node/registry.hpp"

#include <stdexcept>
#include "rasterflow/errors.hpp"

namespace rasterflow {

NodeRegistry& NodeRegistry::instance() {
  static NodeRegistry registry;
  return registry;
}

bool NodeRegistry::add(NodeTypeInfo info) {
  if (find(info.name) != nullptr) throw std::logic_error("node type registered twice: " + info.name);
  types_.push_back(std::move(info));
  return true;
}

const NodeTypeInfo* NodeRegistry::find(const std::string& name) const {
  for (const auto& t : types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string> NodeRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& t : types_) {
    if (!t.embedded) out.push_back(t.name);
  }
  return out;
}

std::string NodeSpec::where() const { return graph_file.string() + ": node \"" + id + "\" (" + type + ")"; }

const char* edge_kind_name(EdgeKind kind) noexcept {
  switch (kind) {
    case EdgeKind::none:
      return "";
    case EdgeKind::source:
      return "source";
    case EdgeKind::raster:
      return "raster";
    case EdgeKind::table:
      return "table";
    case EdgeKind::user:
      return "user";
  }
  return "";
}

}  // namespace rasterflow

namespace rasterflow {

void SinkNode::check_ranks(int ranks) const {
  if (ranks > 1) {
    throw UsageError(where() + ": this sink cannot combine the outputs of " + std::to_string(ranks) +
                     " MPI ranks; run it as one process");
  }
}

SinkNode::Gathered SinkNode::gather(Ranks&) {
  throw RunError(where() + ": this sink cannot combine the outputs of MPI ranks");
}

}  // namespace rasterflow
