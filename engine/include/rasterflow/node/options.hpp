#pragma once
// Node options: declared once per node type (name, type, default, help; see option_binder.hpp),
// bound from the graph JSON or from `--set nodes.<id>.<option>=value`, and handed to the node's
// declared members when it is created.
#include <cstdint>
#include <functional>
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
  secret,       // a string never shown whole (a URL with a password): masked in plans, logs, metrics
  index_list,   // an integer, a list of integers or "all" (1-based indices such as bands), kept as strings
  selection,    // a JSON object {"name": value or [values]}, kept as "name=value" strings
  size,         // bytes: an integer, or a text such as 512MiB, 4GiB, 2G (rasterflow/size.hpp)
};
const char* to_string(OptionType type);
// What a value of the type must be, as error messages say it ("an integer", "true or false").
const char* expected_text(OptionType type);

using OptionValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>>;

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::string;
  std::string help;
  OptionValue default_value{};  // monostate: no default
  bool required = false;
  std::vector<std::string> choices{};  // allowed values of a string option (empty: any)
  std::optional<double> min{};         // inclusive lower bound of a number/integer option
  std::optional<double> max{};         // inclusive upper bound of a number/integer option
  bool min_exclusive = false;          // min is an exclusive bound: values must be above it
  bool zero_is_auto = false;           // the text "auto" sets 0, and 0 is shown as "auto" (bounds skip it)
  // A check of the value alone beyond type, choices and bounds (OptionDecl::check): what is
  // wrong, or "".
  std::function<std::string(const OptionValue&)> check{};
};

// Parses text (from --set) as an option of the given type; nullopt when it does not fit.
std::optional<OptionValue> parse_option_text(const OptionSpec& spec, const std::string& text);
std::string option_value_text(const OptionValue& value);
// What kind of value it holds, as error messages say it ("a string", "an integer").
const char* value_kind_text(const OptionValue& value);
// A secret's text as it may be shown: the password of a URL or key=value string masked
// (mask_password), or "***" for a secret that has no recognisable password.
std::string mask_secret(const std::string& text);
// The value's text for plans, logs and stored metrics: masked when the option is secret.
std::string option_display_text(const OptionSpec& spec, const OptionValue& value);
// What is wrong with a bound value by the option's choices and bounds (`unknown value "x"
// (expected one of: ...)`, `5 is out of range (expected >= 10)`), or "" when nothing is: the one
// check of node options and configuration keys.
std::string option_value_problem(const OptionSpec& spec, const OptionValue& value);
// The same, thrown as GraphError naming `where` and the option.
void check_option_value(const OptionSpec& spec, const OptionValue& value, const std::string& where);

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
