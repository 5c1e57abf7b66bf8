#include "sinks/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "rasterflow/errors.hpp"

namespace rasterflow::sinks {

void AtomicFile::set_path(std::filesystem::path path, std::string where) {
  path_ = std::move(path);
  partial_ = path_;
  partial_ += ".partial";
  where_ = std::move(where);
}

void AtomicFile::open() {
  fd_ = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io_error(where_, "cannot create " + partial_.string() + ": " + std::strerror(errno));
  written_ = 0;
  flushed_ = 0;
}

void AtomicFile::write(std::string_view bytes) {
  // Tiles arrive as large chunks: written straight from them, without a stdio buffer's copy.
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw_io_error(where_, "writing " + partial_.string() + " failed: " + std::strerror(n < 0 ? errno : ENOSPC));
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  written_ += bytes.size();
  // Start the write-back of every full 32 MiB as it is written (no wait), so the fsync before
  // the rename only waits for the tail instead of the whole file.
  constexpr std::uint64_t kFlushEvery = 32u << 20;
  if (written_ - flushed_ >= kFlushEvery) {
    const std::uint64_t upto = written_ / kFlushEvery * kFlushEvery;
    ::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(upto - flushed_), SYNC_FILE_RANGE_WRITE);
    flushed_ = upto;
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) return;
  const bool synced = ::fsync(fd_) == 0;
  const int saved = errno;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) {
    std::remove(partial_.c_str());
    throw_io_error(where_, "writing " + partial_.string() + " failed: " + std::strerror(synced ? errno : saved));
  }
  std::error_code ec;
  std::filesystem::rename(partial_, path_, ec);
  if (ec) {
    std::remove(partial_.c_str());
    throw_io_error(where_, "cannot rename " + partial_.string() + " to " + path_.string() + ": " + ec.message());
  }
}

void AtomicFile::abort() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    std::remove(partial_.c_str());
  }
}

}  // namespace rasterflow::sinks

namespace rasterflow::sinks {

void AtomicFile::reopen(std::uint64_t length) {
  fd_ = ::open(partial_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) throw_io_error(where_, "cannot reopen " + partial_.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < length) {
    ::close(fd_);
    fd_ = -1;
    throw_io_error(where_,
                   partial_.string() + " is shorter than its checkpoint (" + std::to_string(length) + " bytes)");
  }
  if (::ftruncate(fd_, static_cast<off_t>(length)) != 0 || ::lseek(fd_, 0, SEEK_END) < 0) {
    const int saved = errno;
    ::close(fd_);
    fd_ = -1;
    throw_io_error(where_, "cannot cut " + partial_.string() + " back to its checkpoint: " + std::strerror(saved));
  }
  written_ = length;
  flushed_ = length;
}

void AtomicFile::sync() {
  // EINVAL: a file that cannot be synced (a pipe or device, such as /dev/full in tests).
  if (fd_ >= 0 && ::fdatasync(fd_) != 0 && errno != EINVAL)
    throw_io_error(where_, "syncing " + partial_.string() + " failed: " + std::strerror(errno));
}

void AtomicFile::keep() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace rasterflow::sinks
