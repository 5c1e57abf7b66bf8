#pragma once
// The node reference users read, generated from the registry (each type's description, inputs
// and declared options), so that it cannot drift from the code: `rasterflow nodes [TYPE]`
// prints it as text, `rasterflow nodes --markdown` as docs/nodes.md.
#include <string>
#include <vector>

#include "rasterflow/node/registry.hpp"

namespace rasterflow {

// Every registered type, sources first and each type after the types whose output it takes
// (raster_source, resample, merge, csv_sink); ties by name.
std::vector<const NodeTypeInfo*> reference_order(const NodeRegistry& registry);

// One type as text: description, inputs, output, one entry per option (type, default or
// "required", choices, bounds, help) and, with `details`, the type's notes.
std::string node_reference_text(const NodeTypeInfo& info, bool details);

// The whole reference as Markdown (docs/nodes.md, with the command that regenerates it).
std::string node_reference_markdown(const std::vector<const NodeTypeInfo*>& types);
// One type's section of it.
std::string node_reference_markdown_section(const NodeTypeInfo& info);

}  // namespace rasterflow
