#pragma once
// The two halves of option_value_problem (rasterflow/node/options.hpp), which checks a value
// once: its choices, bounds and index-list shape (wrong type or range), then the option's own
// check (OptionSpec::check). Configuration keys word the two apart. Private to engine/src.
#include <string>

#include "rasterflow/node/options.hpp"

namespace rasterflow::detail {

std::string option_range_problem(const OptionSpec& spec, const OptionValue& value);
std::string option_own_problem(const OptionSpec& spec, const OptionValue& value);

}  // namespace rasterflow::detail
