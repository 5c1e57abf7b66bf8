#include "rasterflow/node/node_reference.hpp"
#include "graph/join.hpp"

#include <algorithm>
#include <map>

namespace rasterflow {
namespace {

const char* type_label(OptionType type) {
  switch (type) {
    case OptionType::input_path:
      return "input path";
    case OptionType::output_path:
      return "output path";
    default:
      return to_string(type);
  }
}

// ">= 1", "<= 10", "1 to 10", or "".
std::string bounds_text(const OptionSpec& o) {
  const auto text = [](double v) { return option_value_text(OptionValue{v}); };
  if (o.min && o.max) return (o.min_exclusive ? "above " : "") + text(*o.min) + " to " + text(*o.max);
  if (o.min) return (o.min_exclusive ? "> " : ">= ") + text(*o.min);
  if (o.max) return "<= " + text(*o.max);
  return {};
}

// The default as shown (secrets masked), "required", or "none".
std::string default_text(const OptionSpec& o) {
  if (o.required) return "required";
  if (std::holds_alternative<std::monostate>(o.default_value)) return "none";
  return option_display_text(o, o.default_value);
}

// The types whose output a type's inputs take.
std::vector<std::string> producers(const NodeTypeInfo& info) {
  std::vector<std::string> out;
  for (const auto* t : reference_order(NodeRegistry::instance())) {
    if (info.input_kind != EdgeKind::none && t->output_kind == info.input_kind) out.push_back(t->name);
  }
  return out;
}

// "none", "1", "1 or more", "2 to 4".
std::string input_count(const NodeTypeInfo& info) {
  if (info.max_inputs == 0) return "none";
  if (info.max_inputs < 0) return std::to_string(info.min_inputs) + " or more";
  if (info.max_inputs == info.min_inputs) return std::to_string(info.min_inputs);
  return std::to_string(info.min_inputs) + " to " + std::to_string(info.max_inputs);
}

// Words of `text` on lines of at most `width` characters, each after `indent`.
std::string wrap(const std::string& text, const std::string& indent, std::size_t width) {
  std::string out, line;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

std::string option_text(const OptionSpec& o, std::size_t name_width) {
  std::string facts = type_label(o.type);
  const std::string def = default_text(o);
  const bool quoted = std::holds_alternative<std::string>(o.default_value);
  facts += def == "required" ? ", required"
           : def == "none"   ? ", optional"
                             : ", default " + (quoted ? "\"" + def + "\"" : def);
  if (!o.choices.empty()) facts += "; one of: " + detail::join(o.choices);
  if (const std::string b = bounds_text(o); !b.empty()) facts += "; " + b;
  std::string out = "    " + o.name + std::string(name_width - o.name.size(), ' ') + facts + "\n";
  out += wrap(o.help, "    " + std::string(name_width, ' '), 96);
  return out;
}

// Prose for Markdown: angle brackets escaped (`<columns>` is not an HTML tag).
std::string prose(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else
      out += ch;
  }
  return out;
}

// A Markdown table cell: pipes escaped, line breaks as spaces (angle brackets left to prose()).
std::string cell(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    if (ch == '|')
      out += "\\|";
    else
      out += ch == '\n' ? ' ' : ch;
  }
  return out;
}

std::string code(const std::string& text) { return "`" + text + "`"; }

std::string inputs_markdown(const NodeTypeInfo& info) {
  if (info.max_inputs == 0) return "none";
  std::vector<std::string> from;
  for (const auto& p : producers(info)) from.push_back(code(p));
  return input_count(info) + " " + code(edge_kind_name(info.input_kind)) +
         (from.empty() ? "" : " (from " + detail::join(from, " or ") + ")");
}

std::string option_row_markdown(const OptionSpec& o) {
  std::vector<std::string> allowed;
  for (const auto& c : o.choices) allowed.push_back(code(c));
  std::string constraint = detail::join(allowed);
  if (const std::string b = bounds_text(o); !b.empty()) constraint += (constraint.empty() ? "" : "; ") + b;
  const std::string def = default_text(o);
  const std::string def_cell = def == "required" || def == "none" ? def : code(def);
  return "| " + code(o.name) + " | " + type_label(o.type) + " | " + cell(def_cell) + " | " + cell(constraint) + " | " +
         cell(prose(o.help)) + " |\n";
}

}  // namespace

std::vector<const NodeTypeInfo*> reference_order(const NodeRegistry& registry) {
  std::vector<const NodeTypeInfo*> types;
  for (const auto& name : registry.names()) types.push_back(registry.find(name));
  // Depth: 0 for a type without inputs, else one more than the deepest other type whose
  // output it takes; at most one pass per type, so that cycles of kinds end.
  std::map<std::string, std::size_t> depth;
  for (std::size_t pass = 0; pass < types.size(); ++pass) {
    for (const auto* t : types) {
      std::size_t d = 0;
      for (const auto* p : types) {
        if (p != t && t->max_inputs != 0 && p->output_kind == t->input_kind) d = std::max(d, depth[p->name] + 1);
      }
      depth[t->name] = d;
    }
  }
  std::sort(types.begin(), types.end(), [&](const NodeTypeInfo* a, const NodeTypeInfo* b) {
    return depth[a->name] != depth[b->name] ? depth[a->name] < depth[b->name] : a->name < b->name;
  });
  return types;
}

std::string node_reference_text(const NodeTypeInfo& info, bool details) {
  std::string out = info.name + ": " + info.description + "\n";
  const std::vector<std::string> from = producers(info);
  out += "  inputs: " + input_count(info) +
         (info.max_inputs == 0 ? ""
                               : " (" + std::string(edge_kind_name(info.input_kind)) +
                                     (from.empty() ? "" : ", from " + detail::join(from, " or ")) + ")") +
         "\n";
  out += "  output: " + (info.is_sink ? std::string("none (a sink)") : std::string(edge_kind_name(info.output_kind))) +
         "\n";
  if (info.options.empty()) {
    out += "  options: none\n";
  } else {
    out += "  options:\n";
    std::size_t width = 16;
    for (const auto& o : info.options) width = std::max(width, o.name.size() + 2);
    for (const auto& o : info.options) out += option_text(o, width);
  }
  if (details && !info.details.empty()) out += "  notes:\n" + wrap(info.details, "    ", 96);
  return out;
}

std::string node_reference_markdown_section(const NodeTypeInfo& info) {
  std::string out = "## " + code(info.name) + "\n\n" + prose(info.description) + "\n\n";
  out += "- inputs: " + inputs_markdown(info) + "\n";
  out += "- output: " + (info.is_sink ? std::string("none (a sink)") : code(edge_kind_name(info.output_kind))) + "\n\n";
  if (info.options.empty()) {
    out += "No options.\n";
  } else {
    out += "| option | type | default | allowed | description |\n|---|---|---|---|---|\n";
    for (const auto& o : info.options) out += option_row_markdown(o);
  }
  if (!info.details.empty()) out += "\n" + info.details + "\n";
  return out;
}

std::string node_reference_markdown(const std::vector<const NodeTypeInfo*>& types) {
  std::string out =
      "<!-- Generated from the node types' option declarations by `rasterflow nodes --markdown`: do not edit by hand.\n"
      "     Regenerate with:  build/rasterflow nodes --markdown > docs/nodes.md\n"
      "     (the test Cli.Nodes.MarkdownMatchesDocs fails while this file differs from that output) -->\n"
      "# Node reference\n\n"
      "The node types a graph's `nodes` may use (`\"type\"`), with their inputs and options. Options are set in the\n"
      "node's object (`{ \"id\": \"t\", \"type\": \"resample\", \"inputs\": [\"t_src\"], \"method\": \"average\" }`), "
      "in\n"
      "config.yml's `nodes:` section or with `--set nodes.<id>.<option>=VALUE`; unknown options, wrong types, values\n"
      "outside the choices or bounds and missing required options are errors before anything runs. `rasterflow nodes\n"
      "[TYPE]` prints the same.\n\n"
      "| type | inputs | output | description |\n|---|---|---|---|\n";
  for (const auto* t : types) {
    out += "| [" + code(t->name) + "](#" + t->name + ") | " + cell(inputs_markdown(*t)) + " | " +
           (t->is_sink ? std::string("none (a sink)") : code(edge_kind_name(t->output_kind))) + " | " +
           cell(prose(t->description)) + " |\n";
  }
  for (const auto* t : types) out += "\n" + node_reference_markdown_section(*t);
  return out;
}

}  // namespace rasterflow
