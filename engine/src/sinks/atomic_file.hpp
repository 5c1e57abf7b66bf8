#pragma once
// One output file that appears under its final name only when complete: written as
// `<path>.partial`, synced and renamed by commit(), removed by abort() (and by the destructor
// when neither ran). Serial: one writer at a time. Errors name `where` and the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace rasterflow::sinks {

class AtomicFile final {
 public:
  AtomicFile() = default;
  ~AtomicFile() { abort(); }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The final path (the partial one is derived from it); before open().
  void set_path(std::filesystem::path path, std::string where);
  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& partial() const { return partial_; }

  void open();
  // Appends bytes; throws IoError (disk full, ...) naming the node and file.
  void write(std::string_view bytes);
  std::uint64_t size() const { return written_; }
  // Syncs, closes and renames the partial file to the final path; throws IoError, leaving
  // nothing behind, when any step fails.
  void commit();
  void abort() noexcept;

  // Checkpoint and resume. reopen(): instead of open(), the partial file of an interrupted run
  // cut back to `length`, appended to after it; throws IoError when it is missing or shorter.
  // sync(): what is written so far made durable (fdatasync); throws IoError. keep(): closes the
  // partial file and leaves it for a later reopen().
  void reopen(std::uint64_t length);
  void sync();
  void keep() noexcept;

 private:
  std::filesystem::path path_;
  std::filesystem::path partial_;
  std::string where_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  std::uint64_t flushed_ = 0;  // bytes whose write-back was started (sync_file_range)
};

}  // namespace rasterflow::sinks
