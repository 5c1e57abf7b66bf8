#include "rasterflow/option_binder.hpp"

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
  if (spec().type != OptionType::integer && spec().type != OptionType::number) {
    throw std::logic_error("option \"" + spec().name + "\": min() needs a number or integer member");
  }
  spec().min = value;
  return *this;
}

OptionDecl& OptionDecl::max(double value) {
  if (spec().type != OptionType::integer && spec().type != OptionType::number) {
    throw std::logic_error("option \"" + spec().name + "\": max() needs a number or integer member");
  }
  spec().max = value;
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
  return OptionDecl(*this, specs_.size() - 1);
}

void OptionBinder::fill(const Options& values, const std::string& where) const {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const OptionSpec& spec = specs_[i];
    const auto it = values.all().find(spec.name);
    const bool given = it != values.all().end() && !std::holds_alternative<std::monostate>(it->second);
    const OptionValue& value = given ? it->second : spec.default_value;
    if (std::holds_alternative<std::monostate>(value) && spec.required) {
      throw_graph_error(where, "option \"" + spec.name + "\": required (" + spec.help + ")");
    }
    if (spec.type == OptionType::index_list) {
      // Bound from the graph, JSON made it a list of indices or {"all"}; a value set otherwise
      // is checked the same way.
      const auto* list = std::get_if<std::vector<std::string>>(&value);
      bool ok = list != nullptr && !list->empty();
      for (std::size_t k = 0; ok && k < list->size(); ++k) {
        const std::string& item = (*list)[k];
        ok = (item == "all" && list->size() == 1) ||
             (!item.empty() && item.size() < 10 && item.find_first_not_of("0123456789") == std::string::npos &&
              std::stoll(item) >= 1);
      }
      if (!ok) {
        throw_graph_error(where,
                          "option \"" + spec.name + "\": expected " + expected_text(spec.type) + ", got " +
                              (list != nullptr ? std::string("a list of other values") : value_kind_text(value)));
      }
    }
    if (const std::string wrong = setters_[i](value); !wrong.empty()) {
      throw_graph_error(where, "option \"" + spec.name + "\": " + wrong);
    }
    check_option_value(spec, value, where);
  }
}

}  // namespace rasterflow
