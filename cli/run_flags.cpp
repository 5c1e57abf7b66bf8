#include "cli/run_flags.hpp"

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>

namespace rasterflow::cli {
namespace {

using app::RunFlag;
using app::RunRequest;

// A flag and its negation setting one value (--streaming / --in-memory): given both, refused.
void bind_pair(CLI::App* command, RunRequest& r, const RunFlag& f, int RunRequest::*member) {
  const std::string conflict = std::string(f.cli) + " and " + std::string(f.negation) + " exclude each other";
  const auto set = [&r, member, conflict](int value) {
    if (r.*member >= 0 && r.*member != value) throw CLI::ValidationError(conflict);
    r.*member = value;
  };
  command->add_flag_callback(
      std::string(f.cli), [set] { set(1); }, std::string(f.help));
  command->add_flag_callback(
      std::string(f.negation), [set] { set(0); }, std::string(f.negation_help));
}

void bind(CLI::App* command, RunRequest& r, const RunFlag& f) {
  const std::string name(f.cli), help(f.help);
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(r.*member)>;
        if constexpr (std::is_same_v<T, bool>) {
          command->add_flag(name, r.*member, help);
        } else if constexpr (std::is_same_v<T, int>) {
          if (!f.negation.empty()) return bind_pair(command, r, f, member);
          command->add_option(name, r.*member, help)->check(CLI::Range(1, 4096));
        } else {
          CLI::Option* option = command->add_option(name, r.*member, help);
          if (name == "graph") option->required();
          if (!f.choices.empty())
            option->check(CLI::IsMember(std::vector<std::string>(f.choices.begin(), f.choices.end())));
        }
      },
      f.target);
}

}  // namespace

void bind_run_flags(CLI::App* command, app::RunRequest& request, std::initializer_list<std::string_view> names) {
  for (const RunFlag& f : app::run_flags()) {
    if (f.fronts == app::Fronts::python) continue;
    if (names.size() > 0 && std::find(names.begin(), names.end(), f.name) == names.end()) continue;
    bind(command, request, f);
  }
}

}  // namespace rasterflow::cli
