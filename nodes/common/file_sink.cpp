#include "nodes/common/file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <cerrno>
#include <cstring>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

FileSink::FileSink(NodeSpec spec, std::filesystem::path path) : SinkNode(std::move(spec)), path_(std::move(path)) {
  partial_ = path_;
  partial_ += ".partial";
}

FileSink::~FileSink() { abort(); }

void FileSink::prepare(const RunContext& ctx, std::span<Node* const>) {
  if (!ctx.output_suffix.empty() && final_.empty()) {
    final_ = path_;
    path_ += ctx.output_suffix;
    partial_ = path_;
    partial_ += ".partial";
  }
  const std::filesystem::path folder = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " does not exist");
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " is not writable");
  }
  if (std::filesystem::is_directory(path_, ec)) {
    throw_graph_error(where(), "option \"path\": " + path_.string() + " is a folder");
  }
}

void FileSink::open() {
  fd_ = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io_error(where(), "cannot create " + partial_.string() + ": " + std::strerror(errno));
  rows_.store(0);
  bytes_.store(0);
  flushed_ = 0;
}

void FileSink::write_bytes(std::string_view bytes, std::uint64_t rows) {
  // Tiles arrive as large chunks: written straight from them, without a stdio buffer's copy.
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_io_error(where(), "writing " + partial_.string() + " failed: " + std::strerror(n < 0 ? errno : ENOSPC));
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  const std::uint64_t written = bytes_.fetch_add(bytes.size()) + bytes.size();
  rows_.fetch_add(rows);
  // Start the write-back of every full 32 MiB as it is written (no wait), so the fsync before
  // the rename only waits for the tail instead of the whole file.
  constexpr std::uint64_t kFlushEvery = 32u << 20;
  if (written - flushed_ >= kFlushEvery) {
    const std::uint64_t upto = written / kFlushEvery * kFlushEvery;
    ::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(upto - flushed_), SYNC_FILE_RANGE_WRITE);
    flushed_ = upto;
  }
}

void FileSink::commit() {
  if (fd_ < 0) return;
  const bool synced = ::fsync(fd_) == 0;
  const int saved = errno;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) {
    std::remove(partial_.c_str());
    throw_io_error(where(), "writing " + partial_.string() + " failed: " + std::strerror(synced ? errno : saved));
  }
  std::error_code ec;
  std::filesystem::rename(partial_, path_, ec);
  if (ec) {
    std::remove(partial_.c_str());
    throw_io_error(where(), "cannot rename " + partial_.string() + " to " + path_.string() + ": " + ec.message());
  }
}

void FileSink::abort() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    std::remove(partial_.c_str());
  }
}

}  // namespace rasterflow::nodes
