#pragma once
// One writer per output: an advisory lock on `<output>.lock` that a run holds from before it
// touches the output (checkpoint, partial file, resume) to its end. An open-file-description
// lock (fcntl F_OFD_SETLK): the kernel releases it when the process ends, however it ends, so a
// lock left by a killed run never blocks; it conflicts between processes and between two
// holders in one process. The file holds the holder's pid and host, for the refusal message.
// On network file systems the lock is only as good as the file system's lock support
// (docs/hpc.md).
#include <filesystem>
#include <string>

namespace rasterflow {

class OutputLock final {
 public:
  OutputLock() = default;
  // Locks `<output>.lock` (created when missing). Throws OutputBusy naming `output` and the
  // holder when another process (or another lock in this one) holds it; IoError when the lock
  // file cannot be created.
  OutputLock(const std::filesystem::path& output, const std::string& where);
  ~OutputLock() { release(); }
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  // Removes the lock file (while still holding it) and releases the lock.
  void release() noexcept;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  int fd_ = -1;
};

// "pid 1234 on host node17" for this process.
std::string this_process_description();

}  // namespace rasterflow
