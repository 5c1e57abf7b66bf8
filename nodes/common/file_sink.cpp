#include "nodes/common/file_sink.hpp"

#include <unistd.h>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

FileSink::FileSink(NodeSpec spec, std::filesystem::path path) : SinkNode(std::move(spec)) {
  file_.set_path(std::move(path), where());
}

void FileSink::prepare(const RunContext& ctx, std::span<Node* const>) {
  if (!ctx.output_suffix.empty() && final_.empty()) {
    final_ = file_.path();
    file_.set_path(final_.string() + ctx.output_suffix, where());
  }
  const std::filesystem::path& path = file_.path();
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " does not exist");
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " is not writable");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw_graph_error(where(), "option \"path\": " + path.string() + " is a folder");
  }
}

void FileSink::open() {
  file_.open();
  rows_.store(0);
  bytes_.store(0);
}

void FileSink::write_bytes(std::string_view bytes, std::uint64_t rows) {
  file_.write(bytes);
  bytes_.store(file_.size());
  rows_.fetch_add(rows);
}

void FileSink::commit() {
  // A rank's band stays `<band>.partial` until gather() has put the whole output under its final
  // name: the checkpoint that names it stays valid until then (docs/hpc.md).
  if (!final_.empty()) {
    file_.sync();
    file_.keep();
    return;
  }
  file_.commit();
}

void FileSink::abort() noexcept { file_.abort(); }

void FileSink::check_ranks(int) const {}

ResumableSink::State FileSink::written() const { return {file_.partial(), file_.size(), rows_.load()}; }

void FileSink::sync() { file_.sync(); }

void FileSink::reopen(const State& state) {
  if (state.partial != file_.partial())
    throw_io_error(where(), "the checkpoint names " + state.partial.string() + ", not " + file_.partial().string());
  file_.reopen(state.bytes);
  rows_.store(state.rows);
  bytes_.store(state.bytes);
}

void FileSink::suspend() noexcept { file_.keep(); }

SinkNode::Gathered FileSink::gather(Ranks& ranks) {
  // Every rank's band file into <final>.partial at its offset (MPI-IO), then rank 0 completes
  // it (complete_gathered) and renames it once every rank has written its part; every rank
  // learns whether that worked, so all of them fail or go on together. The band files
  // (`<band>.partial`, which a checkpoint may name) are left to the caller, who removes them
  // with the checkpoint once every sink has gathered, or keeps both to resume a failed gather.
  const std::filesystem::path& band = file_.partial();
  const std::filesystem::path partial = final_.string() + ".partial";
  std::error_code ec;
  std::uint64_t total = 0;
  try {
    total = ranks.concatenate(band, partial);
  } catch (...) {
    if (ranks.rank() == 0) std::filesystem::remove(partial, ec);
    throw;
  }
  std::string why;
  if (ranks.rank() == 0) {
    try {
      total = complete_gathered(partial, total);
      std::filesystem::rename(partial, final_, ec);
      if (ec) why = "could not rename " + partial.string() + " to " + final_.string() + ": " + ec.message();
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (ranks.broadcast(why.empty() ? 0 : 1) != 0) {
    if (ranks.rank() == 0) std::filesystem::remove(partial, ec);
    throw IoError("rank " + std::to_string(ranks.rank()) + ": " +
                  (ranks.rank() == 0 ? why : "rank 0 could not complete " + final_.string()));
  }
  return {final_, total};
}

}  // namespace rasterflow::nodes
