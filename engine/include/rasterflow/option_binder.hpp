#pragma once
// Node options declared once, PDAL-style (`args.add("band", "band number", band_, 1)`): a node
// type keeps its options in a plain struct whose declare() names each member's option with its
// help, default and constraints. That one declaration makes the OptionSpec table (the registry,
// the graph loader's validation, `rasterflow plan`, `rasterflow nodes`, docs/nodes.md) and fills
// the struct from a node's bound Options when the node is created.
//
//   struct SmoothOptions {
//     std::string method;
//     std::optional<double> scale;  // optional: no default, absent unless set
//     void declare(OptionBinder& args) {
//       args.add("method", "smoothing method", method, "mean").choices({"mean", "median"});
//       args.add("scale", "kernel scale", scale).min(0);
//     }
//   };
//   NodeTypeInfo{.name = "my_smooth", .options = declared_options<SmoothOptions>(), ...}
//   Smooth::Smooth(NodeSpec spec) : Node(std::move(spec)), options_(bind_options<SmoothOptions>(this->spec())) {}
//
// The member's type decides the option's type: std::string (string; input_path(),
// output_path() or secret() make it a path or a secret), std::int64_t or int (integer), double
// (number), bool (boolean), std::vector<std::string> (list of strings), std::optional<T> (T's
// type, without a default). A member of another type does not compile. An option declared
// without a default on a member that is not optional is required.
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rasterflow/node.hpp"
#include "rasterflow/options.hpp"

namespace rasterflow {

namespace detail {

template <typename T>
struct OptionTraits;  // only the member types listed above have one
template <>
struct OptionTraits<std::string> {
  static constexpr OptionType type = OptionType::string;
};
template <>
struct OptionTraits<std::int64_t> {
  static constexpr OptionType type = OptionType::integer;
};
template <>
struct OptionTraits<int> {
  static constexpr OptionType type = OptionType::integer;
};
template <>
struct OptionTraits<double> {
  static constexpr OptionType type = OptionType::number;
};
template <>
struct OptionTraits<bool> {
  static constexpr OptionType type = OptionType::boolean;
};
template <>
struct OptionTraits<std::vector<std::string>> {
  static constexpr OptionType type = OptionType::string_list;
};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {
  using value_type = T;
};

// The option value a member's value is declared as (ints widen, strings from literals).
template <typename T, typename D>
OptionValue to_option_value(D&& value) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return OptionValue{static_cast<std::int64_t>(T(value))};
  else
    return OptionValue{T(std::forward<D>(value))};
}

// Assigns a bound value to a member; returns "" or what is wrong with it (after `option "x": `).
template <typename T>
std::string assign_option(T& member, const OptionValue& value) {
  if constexpr (std::is_same_v<T, double>) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) {
      member = static_cast<double>(*i);
      return {};
    }
  }
  if constexpr (std::is_same_v<T, int>) {
    const auto* i = std::get_if<std::int64_t>(&value);
    if (i == nullptr) return std::string("expected an integer, got ") + value_kind_text(value);
    if (*i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max()) {
      return std::to_string(*i) + " is out of range (expected " + std::to_string(std::numeric_limits<int>::min()) +
             " to " + std::to_string(std::numeric_limits<int>::max()) + ")";
    }
    member = static_cast<int>(*i);
    return {};
  } else {
    const auto* v = std::get_if<T>(&value);
    if (v == nullptr)
      return std::string("expected ") + expected_text(OptionTraits<T>::type) + ", got " + value_kind_text(value);
    member = *v;
    return {};
  }
}

}  // namespace detail

// A member type that can hold an option: one of the types above, or std::optional of one.
template <typename T>
concept OptionMember = requires {
  detail::OptionTraits<T>::type;
}
|| (detail::IsOptional<T>::value &&
    requires { detail::OptionTraits<typename detail::IsOptional<T>::value_type>::type; });

class OptionBinder;

// What add() returns: the option's constraints, chained (`.choices({...}).min(1)`). A
// constraint that does not fit the member's type (a bound on a string) throws std::logic_error
// when the declaration runs: at registration, so no program with such a declaration starts.
class OptionDecl {
 public:
  OptionDecl(OptionBinder& binder, std::size_t index) : binder_(&binder), index_(index) {}
  OptionDecl& choices(std::vector<std::string> values);  // string members
  OptionDecl& min(double value);                         // integer and number members
  OptionDecl& max(double value);
  OptionDecl& input_path();   // string members: a file read, relative to the graph file's folder
  OptionDecl& output_path();  // string members: a file written, relative to --output-dir
  OptionDecl& secret();       // string members: masked wherever it is shown or stored
  OptionDecl& index_list();   // list members: an integer, a list of integers or "all" (JSON 3, [1, 2], "all")
  OptionDecl& selection();    // list members: a JSON object {"name": value or [values]}, as "name=value" items

 private:
  OptionSpec& spec();
  OptionDecl& make_string_kind(OptionType kind, const char* what);
  OptionBinder* binder_;
  std::size_t index_;
};

class OptionBinder {
 public:
  // An option without a default: required, unless the member is a std::optional.
  template <OptionMember T>
  OptionDecl add(std::string name, std::string help, T& member) {
    using Traits = detail::IsOptional<T>;
    OptionSpec spec{.name = std::move(name), .help = std::move(help), .required = !Traits::value};
    if constexpr (Traits::value) {
      spec.type = detail::OptionTraits<typename Traits::value_type>::type;
      return declare(std::move(spec), [&member](const OptionValue& v) {
        if (std::holds_alternative<std::monostate>(v)) {
          member.reset();
          return std::string();
        }
        return detail::assign_option(member.emplace(), v);
      });
    } else {
      spec.type = detail::OptionTraits<T>::type;
      return declare(std::move(spec), [&member](const OptionValue& v) { return detail::assign_option(member, v); });
    }
  }

  // An option with a default (the graph may leave it out).
  template <OptionMember T, typename D>
  requires(!detail::IsOptional<T>::value && std::constructible_from<T, D>) OptionDecl
      add(std::string name, std::string help, T& member, D&& default_value) {
    OptionSpec spec{.name = std::move(name),
                    .type = detail::OptionTraits<T>::type,
                    .help = std::move(help),
                    .default_value = detail::to_option_value<T>(std::forward<D>(default_value))};
    return declare(std::move(spec), [&member](const OptionValue& v) { return detail::assign_option(member, v); });
  }

  // The declared options, in declaration order.
  const std::vector<OptionSpec>& specs() const { return specs_; }
  // Fills every declared member from `values` (an option absent from them takes its default),
  // checking types, choices, bounds and required options as the graph loader does. Throws
  // GraphError starting with `where`.
  void fill(const Options& values, const std::string& where) const;

 private:
  friend class OptionDecl;
  using Setter = std::function<std::string(const OptionValue&)>;
  OptionDecl declare(OptionSpec spec, Setter setter);
  std::vector<OptionSpec> specs_;
  std::vector<Setter> setters_;
};

// The option table of a declaring struct (NodeTypeInfo::options).
template <typename T>
std::vector<OptionSpec> declared_options() {
  T target{};
  OptionBinder binder;
  target.declare(binder);
  return binder.specs();
}

// A declaring struct filled from a node's bound options (in the node's constructor).
template <typename T>
T bind_options(const NodeSpec& spec) {
  T target{};
  OptionBinder binder;
  target.declare(binder);
  binder.fill(spec.options, spec.where());
  return target;
}

}  // namespace rasterflow
