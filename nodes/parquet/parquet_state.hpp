#pragma once
// The written row groups' metadata as bytes and back, for what outlives the writer's memory: an
// MPI rank's row groups handed to rank 0 (which writes the one footer) and a checkpoint's row
// groups (which a resumed run's footer describes). Offsets move with rebase() when the bytes
// they describe move in the file.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/parquet/parquet_metadata.hpp"

namespace rasterflow::nodes::parquet {

// Row groups written to one file (or one MPI rank's band of it), with what the footer's
// key-value metadata needs of their rows.
struct WrittenGroups {
  std::vector<RowGroupMeta> groups;
  std::uint64_t bytes = 0;  // the file's (band's) length after them
  std::uint64_t rows = 0;
  std::array<double, 4> bbox{};  // xmin, ymin, xmax, ymax of the rows (when rows > 0)
};

std::string serialize(const WrittenGroups& written);
// Reads one serialize()d record from the front of `bytes` and drops it from there; throws
// std::runtime_error when the bytes are not one.
WrittenGroups parse_written(std::string_view& bytes);

// Moves the offsets of `group` (its own, its chunks' pages) by `delta` bytes.
void rebase(RowGroupMeta& group, std::int64_t delta);

// Lowercase hex of bytes and back (throws std::runtime_error on a character that is not hex).
std::string to_hex(std::string_view bytes);
std::string from_hex(std::string_view hex);

}  // namespace rasterflow::nodes::parquet
