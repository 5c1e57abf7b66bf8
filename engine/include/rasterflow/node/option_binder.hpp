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
// (number), bool (boolean), std::uint64_t (size: bytes, or a text such as 2GiB),
// std::vector<std::string> (list of strings), std::optional<T> (T's type, without a default),
// an enum with its table of names (below: the option is a string whose choices are the table's
// names, and the member gets the enum). A member of another type does not compile. An option
// declared without a default on a member that is not optional is required.
//
// Checks across options belong in one `void validate(const std::string& where) const` of the
// struct: bind_options() calls it after filling every member, before the node is built.
// Configuration keys (config.hpp) are declared with this same binder.
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rasterflow/node/node.hpp"
#include "rasterflow/node/options.hpp"

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
template <>
struct OptionTraits<std::uint64_t> {
  static constexpr OptionType type = OptionType::size;
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
  if constexpr (std::is_same_v<T, std::uint64_t>) {
    const auto* i = std::get_if<std::int64_t>(&value);
    if (i == nullptr || *i < 0)
      return std::string("expected ") + expected_text(OptionType::size) + ", got " + value_kind_text(value);
    member = static_cast<std::uint64_t>(*i);
    return {};
  } else if constexpr (std::is_same_v<T, int>) {
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

// What the setter of an enum option says of a name not in its table.
inline std::string unknown_choice(const std::string& text) { return "unknown value \"" + text + "\""; }

// The member's value as an option value (sizes and ints as std::int64_t).
template <typename T>
OptionValue read_option(const T& member) {
  if constexpr (IsOptional<T>::value) {
    return member ? read_option(*member) : OptionValue{};
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return OptionValue{static_cast<std::int64_t>(member)};
  } else {
    return OptionValue{member};
  }
}

}  // namespace detail

// One name of an enum option's value. An enum's table of them is its one list of choices: the
// option's choices, its reference, the value its member gets, and the name printed back (the
// first name of a value; later ones are aliases, such as gdalwarp's "med" for median).
template <typename E>
struct EnumChoice {
  const char* name;
  E value;
};
template <typename E>
using EnumTable = std::span<const EnumChoice<E>>;

template <typename E>
const char* enum_name(std::type_identity_t<EnumTable<E>> table, E value) {
  for (const auto& c : table) {
    if (c.value == value) return c.name;
  }
  return "?";
}
template <typename E>
std::optional<E> enum_value(std::type_identity_t<EnumTable<E>> table, std::string_view name) {
  for (const auto& c : table) {
    if (name == c.name) return c.value;
  }
  return std::nullopt;
}
template <typename E>
std::vector<std::string> enum_names(std::type_identity_t<EnumTable<E>> table) {
  std::vector<std::string> names;
  for (const auto& c : table) names.emplace_back(c.name);
  return names;
}

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
  OptionDecl& input_path();         // string members: a file read, relative to the graph file's folder
  OptionDecl& output_path();        // string members: a file written, relative to --output-dir
  OptionDecl& secret();             // string members: masked wherever it is shown or stored
  OptionDecl& index_list();         // list members: an integer, a list of integers or "all" (JSON 3, [1, 2], "all")
  OptionDecl& selection();          // list members: a JSON object {"name": value or [values]}, as "name=value" items
  OptionDecl& above(double value);  // integer and number members: an exclusive lower bound
  OptionDecl& zero_is_auto();       // integer and size members: "auto" sets 0, shown as "auto"
  // A check of the value alone beyond type, choices and bounds: returns what is wrong, or "".
  OptionDecl& check(std::function<std::string(const OptionValue&)> check);

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
      return declare(
          std::move(spec),
          [&member](const OptionValue& v) {
            if (std::holds_alternative<std::monostate>(v)) {
              member.reset();
              return std::string();
            }
            return detail::assign_option(member.emplace(), v);
          },
          member);
    } else {
      spec.type = detail::OptionTraits<T>::type;
      return declare(
          std::move(spec), [&member](const OptionValue& v) { return detail::assign_option(member, v); }, member);
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
    return declare(
        std::move(spec), [&member](const OptionValue& v) { return detail::assign_option(member, v); }, member);
  }

  // An enum option: a string of the table's names, its member the enum.
  template <typename E>
  requires std::is_enum_v<E> OptionDecl add(std::string name, std::string help, E& member, E default_value,
                                            std::type_identity_t<EnumTable<E>> table) {
    OptionSpec spec{.name = std::move(name),
                    .type = OptionType::string,
                    .help = std::move(help),
                    .default_value = std::string(enum_name<E>(table, default_value)),
                    .choices = enum_names<E>(table)};
    OptionDecl decl = declare(std::move(spec), [&member, table](const OptionValue& v) {
      const auto* text = std::get_if<std::string>(&v);
      if (text == nullptr) return std::string("expected a string, got ") + value_kind_text(v);
      const auto value = enum_value<E>(table, *text);
      if (!value) return detail::unknown_choice(*text);  // not reached once the value is checked
      member = *value;
      return std::string();
    });
    getters_.back() = [&member, table] { return OptionValue{std::string(enum_name<E>(table, member))}; };
    return decl;
  }

  // An enum option that may be left to the program: "auto" (the default, the member absent) or
  // one of the table's names (the member that enum).
  template <typename E>
  requires std::is_enum_v<E> OptionDecl add(std::string name, std::string help, std::optional<E>& member,
                                            std::type_identity_t<EnumTable<E>> table) {
    std::vector<std::string> choices{"auto"};
    for (auto& n : enum_names<E>(table)) choices.push_back(std::move(n));
    OptionSpec spec{.name = std::move(name),
                    .type = OptionType::string,
                    .help = std::move(help),
                    .default_value = std::string("auto"),
                    .choices = std::move(choices)};
    OptionDecl decl = declare(std::move(spec), [&member, table](const OptionValue& v) {
      const auto* text = std::get_if<std::string>(&v);
      if (text == nullptr) return std::string("expected a string, got ") + value_kind_text(v);
      member = enum_value<E>(table, *text);
      if (!member && *text != "auto") return detail::unknown_choice(*text);  // not reached once checked
      return std::string();
    });
    getters_.back() = [&member, table] {
      return OptionValue{std::string(member ? enum_name<E>(table, *member) : "auto")};
    };
    return decl;
  }

  // The declared options, in declaration order.
  const std::vector<OptionSpec>& specs() const { return specs_; }
  // Option `i`'s value as its member holds it now.
  OptionValue value(std::size_t i) const { return getters_[i](); }
  // Option `i` from `value` (already of its type): checked (option_value_problem), then the
  // member set. Returns what is wrong (after `option "x": `), or "" once the member is set.
  std::string assign(std::size_t i, const OptionValue& value) const;
  // The member of option `i` from a value already checked: a conversion, no check.
  std::string set(std::size_t i, const OptionValue& value) const;
  // Fills every declared member from `values` (an option absent from them takes its default).
  // Values the graph loader has `checked` are only converted; others (a NodeSpec built by hand)
  // are checked here as the loader would (required options, option_value_problem): each value
  // is checked once, on either path. Throws GraphError starting with `where`.
  void fill(const Options& values, const std::string& where, bool checked = false) const;

 private:
  friend class OptionDecl;
  using Setter = std::function<std::string(const OptionValue&)>;
  using Getter = std::function<OptionValue()>;
  template <typename T>
  OptionDecl declare(OptionSpec spec, Setter setter, T& member) {
    OptionDecl decl = declare(std::move(spec), std::move(setter));
    getters_.back() = [&member] { return detail::read_option(member); };
    return decl;
  }
  OptionDecl declare(OptionSpec spec, Setter setter);
  std::vector<OptionSpec> specs_;
  std::vector<Setter> setters_;
  std::vector<Getter> getters_;
};

// The option table of a declaring struct (NodeTypeInfo::options).
template <typename T>
std::vector<OptionSpec> declared_options() {
  T target{};
  OptionBinder binder;
  target.declare(binder);
  return binder.specs();
}

// A declaring struct filled from a node's bound options (in the node's constructor), then its
// cross-option rules checked (its validate(where), when it has one).
template <typename T>
T bind_options(const NodeSpec& spec) {
  T target{};
  OptionBinder binder;
  target.declare(binder);
  binder.fill(spec.options, spec.where(), spec.options_checked);
  if constexpr (requires(const T& t) { t.validate(spec.where()); }) target.validate(spec.where());
  return target;
}

}  // namespace rasterflow
