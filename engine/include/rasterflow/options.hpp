#pragma once
// Node options: declared once per node type (name, type, default, help), bound from the graph
// JSON or from `--set nodes.<id>.<option>=value`, and read back typed by the node.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rasterflow {

enum class OptionType {
  string,
  integer,
  number,
  boolean,
  string_list,
  input_path,   // a file read by the node; relative to the graph file's folder
  output_path,  // a file written by the node; relative to --output-dir
};
const char* to_string(OptionType type);

using OptionValue =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>>;

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::string;
  std::string help;
  OptionValue default_value{};         // monostate: no default
  bool required = false;
  std::vector<std::string> choices{};  // allowed values of a string option (empty: any)
  std::optional<double> min{};         // inclusive lower bound of a number/integer option
};

// Parses text (from --set) as an option of the given type; nullopt when it does not fit.
std::optional<OptionValue> parse_option_text(const OptionSpec& spec, const std::string& text);
std::string option_value_text(const OptionValue& value);

// The options of one node after binding: every declared option is present (its default when
// the graph did not set it; monostate when optional without default).
class Options {
 public:
  void set(const std::string& name, OptionValue value) { values_[name] = std::move(value); }
  bool has(const std::string& name) const;
  const std::string& str(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;  // integers convert
  bool boolean(const std::string& name) const;
  const std::vector<std::string>& strings(const std::string& name) const;
  const std::map<std::string, OptionValue>& all() const { return values_; }

 private:
  const OptionValue& get(const std::string& name) const;
  std::map<std::string, OptionValue> values_;
};

}  // namespace rasterflow
