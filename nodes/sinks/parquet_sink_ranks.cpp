// parquet_sink's output beyond one process's run: MPI ranks' bands gathered into one file with
// one footer, and a checkpoint's row groups continued by a resumed run (docs/parquet.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nodes/parquet/parquet_state.hpp"
#include "nodes/sinks/parquet_sink.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/hpc/ranks.hpp"

namespace rasterflow::nodes {
namespace {

std::uint64_t end_of(const parquet::RowGroupMeta& group) {
  std::int64_t bytes = 0;
  for (const auto& c : group.chunks) bytes += c.compressed;
  return static_cast<std::uint64_t>(group.file_offset + bytes);
}

// Every rank's row groups (serialize()d in rank order in `file`), placed after the bands before
// theirs: one list of the whole file's row groups.
std::vector<parquet::RowGroupMeta> read_ranks_groups(const std::filesystem::path& file, int ranks) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + file.string());
  const std::string bytes = text.str();
  std::string_view rest = bytes;
  std::vector<parquet::RowGroupMeta> all;
  std::uint64_t offset = 0;
  for (int r = 0; r < ranks; ++r) {
    parquet::WrittenGroups w = parquet::parse_written(rest);
    for (auto& g : w.groups) {
      parquet::rebase(g, static_cast<std::int64_t>(offset));
      all.push_back(std::move(g));
    }
    offset += w.bytes;
  }
  return all;
}

void write_file(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

SinkNode::Gathered ParquetSink::gather(Ranks& ranks) {
  // Each rank's band holds whole row groups (the bands begin at one): the bands concatenated
  // are the file's row groups. Their metadata goes to rank 0 the same way, through a file the
  // ranks write together; rank 0 moves each rank's offsets by the bands before it and writes
  // the one footer after the bands (complete_gathered).
  parquet::WrittenGroups mine;
  mine.bytes = bytes_written();
  {
    const std::lock_guard lock(written_mutex_);
    mine.groups = written_;
  }
  const std::filesystem::path local = written().partial.string() + ".groups";
  const std::filesystem::path shared = final_path().string() + ".partial.groups";
  std::error_code ec;
  try {
    write_file(local, parquet::serialize(mine));
  } catch (const std::exception&) {
    std::filesystem::remove(local, ec);  // concatenate() then fails on every rank, naming it
  }
  try {
    ranks.concatenate(local, shared);
  } catch (...) {
    std::filesystem::remove(local, ec);
    if (ranks.rank() == 0) std::filesystem::remove(shared, ec);
    throw;
  }
  std::filesystem::remove(local, ec);
  gather_error_.clear();
  if (ranks.rank() == 0) {
    try {
      auto all = read_ranks_groups(shared, ranks.size());
      const std::lock_guard lock(written_mutex_);
      written_ = std::move(all);
    } catch (const std::exception& e) {
      gather_error_ = e.what();
    }
    std::filesystem::remove(shared, ec);
  }
  return TableSink::gather(ranks);
}

std::uint64_t ParquetSink::complete_gathered(const std::filesystem::path& partial, std::uint64_t bytes) {
  if (!gather_error_.empty()) throw_io_error(where(), "the ranks' row groups: " + gather_error_);
  {
    const std::lock_guard lock(written_mutex_);
    const std::uint64_t end = written_.empty() ? parquet::kMagic.size() : end_of(written_.back());
    if (end != bytes)
      throw_io_error(where(), "the ranks' row groups end at byte " + std::to_string(end) + ", their bands at " +
                                  std::to_string(bytes));
  }
  const std::string tail = footer();
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0;
  for (std::size_t done = 0; ok && done < tail.size();) {
    const ssize_t n = ::pwrite(fd, tail.data() + done, tail.size() - done, static_cast<off_t>(bytes + done));
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  // A stale longer file of a gather killed earlier is cut to the footer's end.
  ok = ok && ::ftruncate(fd, static_cast<off_t>(bytes + tail.size())) == 0 && ::fdatasync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) throw_io_error(where(), "writing the footer of " + partial.string() + " failed: " + std::strerror(saved));
  return bytes + tail.size();
}

std::string ParquetSink::checkpoint_data(const State& state) const {
  // The row groups up to the state's length (a checkpoint is recorded after a row group only:
  // row_multiple()), which a resumed run's footer describes.
  parquet::WrittenGroups w;
  w.bytes = state.bytes;
  const std::lock_guard lock(written_mutex_);
  for (std::size_t k = 0; k < written_.size() && written_ends_[k] <= state.bytes; ++k) w.groups.push_back(written_[k]);
  return parquet::to_hex(parquet::serialize(w));
}

void ParquetSink::reopen(const State& state) {
  parquet::WrittenGroups w;
  try {
    const std::string bytes = parquet::from_hex(state.data);
    std::string_view in = bytes;
    w = parquet::parse_written(in);
  } catch (const std::exception& e) {
    throw_io_error(where(),
                   "the checkpoint's row groups of " + state.partial.string() + " cannot be read (" + e.what() + ")");
  }
  // They follow each other and end where the file is cut back to.
  std::uint64_t end = w.groups.empty() ? state.bytes : static_cast<std::uint64_t>(w.groups.front().file_offset);
  std::vector<std::uint64_t> ends;
  for (const auto& g : w.groups) {
    if (static_cast<std::uint64_t>(g.file_offset) != end) break;
    end = end_of(g);
    ends.push_back(end);
  }
  if (w.bytes != state.bytes || end != state.bytes || ends.size() != w.groups.size() ||
      (w.groups.empty() && state.bytes > parquet::kMagic.size()))
    throw_io_error(where(), "the checkpoint's row groups do not end where " + state.partial.string() +
                                " is cut back to (byte " + std::to_string(state.bytes) + ")");
  TableSink::reopen(state);
  open_.assign(writer_->columns().size(), {});
  open_rows_ = 0;
  const std::lock_guard lock(written_mutex_);
  written_ = std::move(w.groups);
  written_ends_ = std::move(ends);
}

}  // namespace rasterflow::nodes
