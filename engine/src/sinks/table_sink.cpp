#include "rasterflow/node/table_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/hpc/ranks.hpp"
#include "sinks/atomic_file.hpp"

namespace rasterflow {
namespace {

// Size of a file, or of every file under a folder (Zarr).
std::uint64_t size_on_disk(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
  }
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

void sync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

TableSink::TableSink(NodeSpec spec, Output output, std::filesystem::path path, bool may_be_folder)
    : SinkNode(std::move(spec)),
      output_(output),
      may_be_folder_(may_be_folder),
      target_(std::move(path)),
      file_(std::make_unique<sinks::AtomicFile>()) {
  file_->set_path(target_, where());
}

TableSink::~TableSink() = default;

void TableSink::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  if (output_ != Output::none) {
    if (!ctx.output_suffix.empty() && final_.empty()) {
      final_ = target_;
      target_ = final_.string() + ctx.output_suffix;
      file_->set_path(target_, where());
    }
    check_folder();
  }
  const auto* table = inputs.empty() ? nullptr : dynamic_cast<const nodes::TableProducer*>(inputs[0]);
  if (table == nullptr) {
    throw_graph_error(where(), "field \"inputs\": node \"" + (inputs.empty() ? std::string() : inputs[0]->id()) +
                                   "\" does not produce a table");
  }
  prepare_table(ctx, *table);
}

void TableSink::check_folder() const {
  const std::filesystem::path& path = target_;
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0)
    throw_graph_error(where(), "option \"path\": the output folder " + folder.string() + " is not writable");
  if (!may_be_folder_ && std::filesystem::is_directory(path, ec))
    throw_graph_error(where(), "option \"path\": " + path.string() + " is a folder");
}

PayloadPtr TableSink::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  // The graph checked the edge kind when it loaded: a tag compare, no RTTI, on every tile.
  const auto table = inputs.empty() ? nullptr : payload_as<Table>(inputs[0]);
  if (!table) throw_node_error(where(), "input is not a merged table");
  return format(tile, *table);
}

void TableSink::open() {
  rows_.store(0);
  bytes_.store(0);
  try {
    if (streams())
      file_->open();
    else if (output_ == Output::file)
      remove_partial();
    begin();
  } catch (...) {
    abort();
    throw;
  }
}

void TableSink::write(const TileRequest& tile, const PayloadPtr& data) { emit(tile, *data); }

void TableSink::write_bytes(std::string_view bytes, std::uint64_t rows) {
  file_->write(bytes);
  bytes_.store(file_->size());
  rows_.fetch_add(rows);
}

void TableSink::count(std::uint64_t rows, std::uint64_t bytes) {
  rows_.fetch_add(rows);
  bytes_.fetch_add(bytes);
}

void TableSink::commit() {
  try {
    finish();
    if (is_band() && resumable() != nullptr) {
      // A rank's band stays `<band>.partial` until gather() has put the whole output under its
      // final name: the checkpoint that names it stays valid until then (docs/hpc.md).
      file_->sync();
      file_->keep();
      band_ = file_->partial();
    } else if (is_band()) {
      // No checkpoint names it: the band takes its own name, which the caller removes when a
      // gather fails, and gather() once it has read it.
      file_->commit();
      band_ = target_;
    } else if (output_ == Output::stream) {
      file_->commit();
    } else if (output_ == Output::file) {
      publish();
    }
  } catch (...) {
    abort();
    throw;
  }
}

void TableSink::publish() {
  const std::filesystem::path partial = partial_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(partial, ec)) sync_path(partial);
  const std::filesystem::path& path = final_path();
  if (std::filesystem::is_directory(path, ec)) std::filesystem::remove_all(path, ec);
  std::filesystem::rename(partial, path, ec);
  if (ec) throw_io_error(where(), "cannot rename " + partial.string() + " to " + path.string() + ": " + ec.message());
  for (const std::string& suffix : companions()) {
    const std::filesystem::path from = partial.string() + suffix;
    if (std::filesystem::exists(from, ec)) std::filesystem::rename(from, path.string() + suffix, ec);
  }
  bytes_.store(size_on_disk(path));
}

void TableSink::abort() noexcept {
  discard();
  file_->abort();
  if (output_ == Output::file && !is_band()) remove_partial();
}

void TableSink::remove_partial() const noexcept {
  std::error_code ec;
  const std::string partial = partial_path().string();
  std::filesystem::remove_all(partial, ec);
  for (const std::string& suffix : companions()) std::filesystem::remove(partial + suffix, ec);
}

}  // namespace rasterflow

namespace rasterflow {

void TableSink::check_ranks(int ranks) const {
  if (output_ == Output::none) SinkNode::check_ranks(ranks);
}

ResumableSink::State TableSink::written() const { return {file_->partial(), file_->size(), rows_.load()}; }

void TableSink::sync() { file_->sync(); }

void TableSink::reopen(const State& state) {
  if (state.partial != file_->partial())
    throw_io_error(where(), "the checkpoint names " + state.partial.string() + ", not " + file_->partial().string());
  file_->reopen(state.bytes);
  rows_.store(state.rows);
  bytes_.store(state.bytes);
}

void TableSink::suspend() noexcept { file_->keep(); }

std::uint64_t TableSink::complete_gathered(const std::filesystem::path&, std::uint64_t bytes) { return bytes; }

SinkNode::Gathered TableSink::gather(Ranks& ranks) {
  // Every rank's band file into <final>.partial at its offset (MPI-IO), then rank 0 completes
  // it (complete_gathered) and renames it once every rank has written its part; every rank
  // learns whether that worked, so all of them fail or go on together. The band files
  // (`<band>.partial`, which a checkpoint may name) are left to the caller, who removes them
  // with the checkpoint once every sink has gathered, or keeps both to resume a failed gather.
  if (output_ == Output::none) return SinkNode::gather(ranks);
  const std::filesystem::path partial = final_.string() + ".partial";
  std::error_code ec;
  std::uint64_t total = 0;
  try {
    total = ranks.concatenate(band_, partial);
  } catch (...) {
    if (band_ == target_) std::filesystem::remove(band_, ec);
    if (ranks.rank() == 0) std::filesystem::remove(partial, ec);
    throw;
  }
  if (band_ == target_) std::filesystem::remove(band_, ec);
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

}  // namespace rasterflow
