#pragma once
// The node registry: type name -> schema and builder. Each node type registers itself at the
// end of its .cpp with RASTERFLOW_REGISTER_NODE; the engine never names a node type.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rasterflow/node.hpp"

namespace rasterflow {

struct NodeTypeInfo {
  std::string name;
  std::string description;
  std::vector<OptionSpec> options;
  int min_inputs = 0;
  int max_inputs = 0;          // -1: any number
  std::string input_kind;      // what its inputs must produce ("" when it has none)
  std::string output_kind;     // what it produces ("" for a sink)
  bool is_sink = false;
  std::function<std::unique_ptr<Node>(NodeSpec)> create;
  std::string operation = "process";  // what the node does to a tile, for metrics: read, resample, merge, write
};

class NodeRegistry {
 public:
  static NodeRegistry& instance();
  bool add(NodeTypeInfo info);
  const NodeTypeInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<NodeTypeInfo> types_;
};

}  // namespace rasterflow

#define RASTERFLOW_REGISTER_NODE(info_expr)                                              \
  namespace {                                                                            \
  [[maybe_unused]] const bool rasterflow_node_registered_ =                              \
      ::rasterflow::NodeRegistry::instance().add(info_expr);                             \
  }
