#include "nodes/common/file_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

FileSink::FileSink(NodeSpec spec, std::string path_option) : SinkNode(std::move(spec)) {
  path_ = this->spec().options.str(path_option);
  partial_ = path_;
  partial_ += ".partial";
}

FileSink::~FileSink() { abort(); }

void FileSink::prepare(const RunContext&, std::span<Node* const>) {
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
  file_ = std::fopen(partial_.c_str(), "wb");
  if (file_ == nullptr) throw_io_error(where(), "cannot create " + partial_.string() + ": " + std::strerror(errno));
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  rows_ = 0;
  bytes_ = 0;
}

void FileSink::write_bytes(std::string_view bytes, std::uint64_t rows) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw_io_error(where(), "writing " + partial_.string() + " failed: " + std::strerror(errno));
  }
  bytes_ += bytes.size();
  rows_ += rows;
}

void FileSink::commit() {
  if (file_ == nullptr) return;
  const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  const int saved = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    std::remove(partial_.c_str());
    throw_io_error(where(), "writing " + partial_.string() + " failed: " + std::strerror(flushed ? errno : saved));
  }
  std::error_code ec;
  std::filesystem::rename(partial_, path_, ec);
  if (ec) {
    std::remove(partial_.c_str());
    throw_io_error(where(), "cannot rename " + partial_.string() + " to " + path_.string() + ": " + ec.message());
  }
}

void FileSink::abort() noexcept {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
    std::remove(partial_.c_str());
  }
}

}  // namespace rasterflow::nodes
