#pragma once
// The node registry: type name -> schema and builder. Each node type registers itself at the
// end of its .cpp with RASTERFLOW_REGISTER_NODE; the engine never names a node type.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rasterflow/node/node.hpp"

namespace rasterflow {

// One node type, registered with designated initializers (fields left out keep these defaults):
//   RASTERFLOW_REGISTER_NODE((NodeTypeInfo{.name = "merge", .description = "...",
//                                          .options = declared_options<MergeOptions>(), ...}))
struct NodeTypeInfo {
  std::string name;                 // the type in graph JSON, logs and metrics
  std::string description;          // one sentence
  std::string details;              // more for the node reference (Markdown paragraphs; "" when none)
  std::vector<OptionSpec> options;  // from the options' declaration (option_binder.hpp)
  int min_inputs = 0;
  int max_inputs = 0;                     // -1: any number
  EdgeKind input_kind = EdgeKind::none;   // what its inputs must produce (none when it has none)
  EdgeKind output_kind = EdgeKind::none;  // what it produces (none for a sink)
  bool is_sink = false;
  std::function<std::unique_ptr<Node>(NodeSpec)> create;
  std::string operation = "process";  // what the node does to a tile, for metrics: read, resample, merge, write
  // Built only by an embedder (PlanOptions::build_node), e.g. the Python module's chunk sink, in
  // place of a graph's node: graphs cannot name it, and names() leaves it out.
  bool embedded = false;
};

// NodeTypeInfo::create for a node class constructed from its NodeSpec.
template <typename T>
std::unique_ptr<Node> create_node(NodeSpec spec) {
  return std::make_unique<T>(std::move(spec));
}

class NodeRegistry {
 public:
  static NodeRegistry& instance();
  bool add(NodeTypeInfo info);
  const NodeTypeInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;  // the types graphs can name

 private:
  std::vector<NodeTypeInfo> types_;
};

}  // namespace rasterflow

// One registration per use: the variable's name is unique per translation unit (__COUNTER__), so
// several node files may share one (a unity build).
#define RASTERFLOW_REGISTER_NODE(info_expr) RASTERFLOW_REGISTER_NODE_AS(info_expr, __COUNTER__)
#define RASTERFLOW_REGISTER_NODE_AS(info_expr, n) \
  RASTERFLOW_REGISTER_NODE_NAMED(info_expr, RASTERFLOW_NODE_CAT(rasterflow_node_registered_, n))
#define RASTERFLOW_NODE_CAT(a, b) a##b
#define RASTERFLOW_REGISTER_NODE_NAMED(info_expr, name)                                     \
  namespace {                                                                               \
  [[maybe_unused]] const bool name = ::rasterflow::NodeRegistry::instance().add(info_expr); \
  }
