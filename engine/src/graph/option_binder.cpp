#include "rasterflow/node/option_binder.hpp"

#include <stdexcept>

#include "rasterflow/errors.hpp"

namespace rasterflow {

OptionSpec& OptionDecl::spec() { return binder_->specs_[index_]; }

OptionDecl& OptionDecl::make_string_kind(OptionType kind, const char* what) {
  if (spec().type != OptionType::string) {
    throw std::logic_error("option \"" + spec().name + "\": " + what + "() needs a std::string member");
  }
  if (kind == OptionType::secret && !spec().choices.empty()) {
    throw std::logic_error("option \"" + spec().name + "\": a secret has no choices (they would show it)");
  }
  spec().type = kind;
  return *this;
}

OptionDecl& OptionDecl::choices(std::vector<std::string> values) {
  if (spec().type != OptionType::string) {
    throw std::logic_error("option \"" + spec().name + "\": choices() needs a std::string member");
  }
  spec().choices = std::move(values);
  return *this;
}

OptionDecl& OptionDecl::min(double value) {
  if (spec().type != OptionType::integer && spec().type != OptionType::number && spec().type != OptionType::size) {
    throw std::logic_error("option \"" + spec().name + "\": min() needs a number, integer or size member");
  }
  spec().min = value;
  return *this;
}

OptionDecl& OptionDecl::max(double value) {
  if (spec().type != OptionType::integer && spec().type != OptionType::number && spec().type != OptionType::size) {
    throw std::logic_error("option \"" + spec().name + "\": max() needs a number, integer or size member");
  }
  spec().max = value;
  return *this;
}

OptionDecl& OptionDecl::above(double value) {
  min(value);
  spec().min_exclusive = true;
  return *this;
}

OptionDecl& OptionDecl::zero_is_auto() {
  if (spec().type != OptionType::integer && spec().type != OptionType::size) {
    throw std::logic_error("option \"" + spec().name + "\": zero_is_auto() needs an integer or size member");
  }
  spec().zero_is_auto = true;
  return *this;
}

OptionDecl& OptionDecl::check(std::function<std::string(const OptionValue&)> check) {
  spec().check = std::move(check);
  return *this;
}

OptionDecl& OptionDecl::input_path() { return make_string_kind(OptionType::input_path, "input_path"); }
OptionDecl& OptionDecl::output_path() { return make_string_kind(OptionType::output_path, "output_path"); }
OptionDecl& OptionDecl::secret() { return make_string_kind(OptionType::secret, "secret"); }
OptionDecl& OptionDecl::index_list() {
  if (spec().type != OptionType::string_list) {
    throw std::logic_error("option \"" + spec().name + "\": index_list() needs a std::vector<std::string> member");
  }
  spec().type = OptionType::index_list;
  return *this;
}

OptionDecl& OptionDecl::selection() {
  if (spec().type != OptionType::string_list) {
    throw std::logic_error("option \"" + spec().name + "\": selection() needs a std::vector<std::string> member");
  }
  spec().type = OptionType::selection;
  return *this;
}

OptionDecl OptionBinder::declare(OptionSpec spec, Setter setter) {
  for (const auto& s : specs_) {
    if (s.name == spec.name) throw std::logic_error("option \"" + spec.name + "\" declared twice");
  }
  specs_.push_back(std::move(spec));
  setters_.push_back(std::move(setter));
  getters_.emplace_back([] { return OptionValue{}; });
  return OptionDecl(*this, specs_.size() - 1);
}

std::string OptionBinder::assign(std::size_t i, const OptionValue& value) const {
  if (std::string problem = option_value_problem(specs_[i], value); !problem.empty()) return problem;
  return setters_[i](value);
}

std::string OptionBinder::set(std::size_t i, const OptionValue& value) const { return setters_[i](value); }

void OptionBinder::fill(const Options& values, const std::string& where, bool checked) const {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const OptionSpec& spec = specs_[i];
    const auto it = values.all().find(spec.name);
    const bool given = it != values.all().end() && !std::holds_alternative<std::monostate>(it->second);
    const OptionValue& value = given ? it->second : spec.default_value;
    if (!checked && std::holds_alternative<std::monostate>(value) && spec.required) {
      throw_graph_error(where, "option \"" + spec.name + "\": required (" + spec.help + ")");
    }
    if (const std::string wrong = checked ? set(i, value) : assign(i, value); !wrong.empty()) {
      throw_graph_error(where, "option \"" + spec.name + "\": " + wrong);
    }
  }
}

}  // namespace rasterflow
