#include "rasterflow/node/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "graph/join.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow {

const char* to_string(OptionType type) {
  switch (type) {
    case OptionType::string:
      return "string";
    case OptionType::integer:
      return "integer";
    case OptionType::number:
      return "number";
    case OptionType::boolean:
      return "boolean";
    case OptionType::string_list:
      return "list of strings";
    case OptionType::input_path:
      return "path";
    case OptionType::output_path:
      return "path";
    case OptionType::secret:
      return "secret";
    case OptionType::index_list:
      return "integer, list or \"all\"";
    case OptionType::selection:
      return "object";
    case OptionType::size:
      return "size";
  }
  return "?";
}

const char* expected_text(OptionType type) {
  switch (type) {
    case OptionType::string:
    case OptionType::input_path:
    case OptionType::output_path:
    case OptionType::secret:
      return "a string";
    case OptionType::integer:
      return "an integer";
    case OptionType::number:
      return "a number";
    case OptionType::boolean:
      return "true or false";
    case OptionType::string_list:
      return "a list of strings";
    case OptionType::index_list:
      return "an integer >= 1, a list of them or \"all\"";
    case OptionType::selection:
      return "an object of names and values (e.g. {\"time\": [\"2006-01\", \"2006-03\"], \"plev\": 500})";
    case OptionType::size:
      return "a size such as 512MiB, 4GiB, 2G";
  }
  return "a value";
}

namespace {
std::optional<OptionValue> parse_typed_text(const OptionSpec& spec, const std::string& text);
}  // namespace

std::optional<OptionValue> parse_option_text(const OptionSpec& spec, const std::string& text) {
  if (!spec.zero_is_auto) return parse_typed_text(spec, text);
  // 0 is written "auto"; the text 0 is no count or size.
  if (text == "auto") return OptionValue{std::int64_t{0}};
  const auto value = parse_typed_text(spec, text);
  if (value && std::holds_alternative<std::int64_t>(*value) && std::get<std::int64_t>(*value) == 0) return std::nullopt;
  return value;
}

namespace {
std::optional<OptionValue> parse_typed_text(const OptionSpec& spec, const std::string& text) {
  switch (spec.type) {
    case OptionType::string:
    case OptionType::input_path:
    case OptionType::output_path:
    case OptionType::secret:
      return OptionValue{text};
    case OptionType::integer: {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
      return OptionValue{v};
    }
    case OptionType::number: {
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
      return OptionValue{v};
    }
    case OptionType::boolean:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return OptionValue{true};
      if (text == "false" || text == "0" || text == "no" || text == "off") return OptionValue{false};
      return std::nullopt;
    case OptionType::index_list: {
      if (text == "all") return OptionValue{std::vector<std::string>{"all"}};
      std::vector<std::string> items;
      std::stringstream in(text);
      std::string item;
      while (std::getline(in, item, ',')) {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (ec != std::errc{} || end != item.data() + item.size() || v < 1) return std::nullopt;
        items.push_back(std::to_string(v));
      }
      if (items.empty()) return std::nullopt;
      return OptionValue{items};
    }
    case OptionType::selection:  // --set: time=2006-01,plev=500
    case OptionType::string_list: {
      std::vector<std::string> items;
      std::stringstream in(text);
      std::string item;
      while (std::getline(in, item, ',')) {
        if (spec.type == OptionType::selection && item.find('=') == std::string::npos) return std::nullopt;
        items.push_back(item);
      }
      return OptionValue{items};
    }
    case OptionType::size: {
      const auto bytes = parse_size(text);
      if (!bytes || *bytes > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return OptionValue{static_cast<std::int64_t>(*bytes)};
    }
  }
  return std::nullopt;
}
}  // namespace

std::string option_value_text(const OptionValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "(none)"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      return std::string(buf, r.ptr);
    }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out;
      for (const auto& s : list) out += (out.empty() ? "" : ",") + s;
      return out;
    }
  };
  return std::visit(Visitor{}, value);
}

const char* value_kind_text(const OptionValue& value) {
  struct Visitor {
    const char* operator()(std::monostate) const { return "null"; }
    const char* operator()(bool) const { return "a boolean"; }
    const char* operator()(std::int64_t) const { return "an integer"; }
    const char* operator()(double) const { return "a number"; }
    const char* operator()(const std::string&) const { return "a string"; }
    const char* operator()(const std::vector<std::string>&) const { return "a list"; }
  };
  return std::visit(Visitor{}, value);
}

std::string mask_secret(const std::string& text) {
  const std::string masked = mask_password(text);
  if (masked != text || text.empty()) return masked;
  return "***";
}

std::string option_display_text(const OptionSpec& spec, const OptionValue& value) {
  const std::string text = option_value_text(value);
  if (spec.type == OptionType::secret && !std::holds_alternative<std::monostate>(value)) return mask_secret(text);
  return text;
}

std::string option_value_problem(const OptionSpec& spec, const OptionValue& value) {
  if (!spec.choices.empty()) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      if (std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end())
        return "unknown value \"" + *s + "\" (expected one of: " + detail::join(spec.choices) + ")";
    }
  }
  double n = 0;
  if (const auto* i = std::get_if<std::int64_t>(&value))
    n = static_cast<double>(*i);
  else if (const auto* d = std::get_if<double>(&value))
    n = *d;
  else
    return {};
  if (spec.zero_is_auto && n == 0) return {};
  if (spec.min && (n < *spec.min || (spec.min_exclusive && n == *spec.min))) {
    return option_value_text(value) + " is out of range (expected " + (spec.min_exclusive ? "> " : ">= ") +
           option_value_text(OptionValue{*spec.min}) + ")";
  }
  if (spec.max && n > *spec.max)
    return option_value_text(value) + " is out of range (expected <= " + option_value_text(OptionValue{*spec.max}) +
           ")";
  return {};
}

void check_option_value(const OptionSpec& spec, const OptionValue& value, const std::string& where) {
  if (const std::string problem = option_value_problem(spec, value); !problem.empty())
    throw_graph_error(where, "option \"" + spec.name + "\": " + problem);
}

bool Options::has(const std::string& name) const {
  const auto it = values_.find(name);
  return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
}

const OptionValue& Options::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end() || std::holds_alternative<std::monostate>(it->second)) {
    throw std::logic_error("option \"" + name + "\" read but not declared or not set");
  }
  return it->second;
}

const std::string& Options::str(const std::string& name) const { return std::get<std::string>(get(name)); }
std::int64_t Options::integer(const std::string& name) const { return std::get<std::int64_t>(get(name)); }
double Options::number(const std::string& name) const {
  const auto& v = get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
bool Options::boolean(const std::string& name) const { return std::get<bool>(get(name)); }
const std::vector<std::string>& Options::strings(const std::string& name) const {
  return std::get<std::vector<std::string>>(get(name));
}

}  // namespace rasterflow
