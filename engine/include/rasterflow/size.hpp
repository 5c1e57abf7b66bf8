#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rasterflow {

// Parses `512MiB`, `4GiB`, `2G`, `1.5GB`, `1048576` into bytes. K/M/G/T and KiB/MiB/GiB/TiB are
// binary (powers of 1024, as in memory limits); KB/MB/GB/TB are decimal. nullopt when malformed.
std::optional<std::uint64_t> parse_size(std::string_view text);

// 1536 -> "1.5 KiB"
std::string format_size(std::uint64_t bytes);
// A memory size as `sbatch --mem` takes it: whole MiB rounded up ("143M"), or whole GiB from
// 4 GiB on ("5G").
std::string sbatch_mem(std::uint64_t bytes);

}  // namespace rasterflow
