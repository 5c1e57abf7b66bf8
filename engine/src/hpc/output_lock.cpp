#include "rasterflow/hpc/output_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "rasterflow/errors.hpp"

namespace rasterflow {
namespace {

// Takes the write lock on the whole file without waiting; errno EAGAIN/EACCES when held.
bool try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

// Whether `fd` is still the file at `path` (a holder removes the file while it holds the lock:
// the lock of an unlinked file protects nothing).
bool still_linked(int fd, const std::filesystem::path& path) {
  struct stat opened {
  }, named{};
  if (::fstat(fd, &opened) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

// What the holder wrote into the lock file; it may not have written it yet.
std::string holder_of(const std::filesystem::path& file) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    char text[256] = {};
    const ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    std::string holder(text, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    if (!holder.empty()) return holder;
    ::usleep(5000);
  }
  return "a process that has not said who it is yet";
}

void write_holder(int fd) {
  const std::string text = this_process_description() + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, text.data(), text.size(), 0);
}

}  // namespace

std::string this_process_description() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return "pid " + std::to_string(::getpid()) + " on host " + host;
}

OutputLock::OutputLock(const std::filesystem::path& output, const std::string& where)
    : file_(output.string() + ".lock") {
  // Until the lock is held on the file that is under the name: a holder that ended removed
  // the name between our open() and our lock, so the lock we got is on a file nobody sees.
  for (;;) {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(where + ": cannot create the lock file " + file_.string() + ": " + std::strerror(errno));
    if (!try_lock(fd_)) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err != EAGAIN && err != EACCES)
        throw IoError(where + ": cannot lock " + file_.string() + ": " + std::strerror(err));
      throw OutputBusy(where + ": the output " + output.string() + " is being written by another run (" +
                       holder_of(file_) + ", lock " + file_.string() +
                       "): one writer per output; wait for it to end or stop it (its checkpoint lets --resume "
                       "continue)");
    }
    if (still_linked(fd_, file_)) break;
    ::close(fd_);
    fd_ = -1;
  }
  write_holder(fd_);
}

OutputLock::OutputLock(OutputLock&& other) noexcept : file_(std::move(other.file_)), fd_(other.fd_) { other.fd_ = -1; }

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::move(other.file_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void OutputLock::release() noexcept {
  if (fd_ < 0) return;
  ::unlink(file_.c_str());  // still held: a newcomer that opened the old file sees it unlinked
  ::close(fd_);
  fd_ = -1;
}

}  // namespace rasterflow
