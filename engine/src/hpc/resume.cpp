// Pipeline's side of checkpoint and resume: the run's identity, its checkpoint file, and the
// checks before a resumed run continues (rasterflow/hpc/checkpoint.hpp).
#include <sys/stat.h>

#include <boost/json.hpp>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/size.hpp"
#include "run/pipeline_impl.hpp"

namespace rasterflow {
namespace {

// Sections of config.yml that cannot change the output's bytes (threads, memory, NUMA, metrics,
// checkpoints): a resumed job may get more memory or threads. Every other key is in the identity.
bool shapes_output(const std::string& section) {
  return section != "engine" && section != "memory" && section != "metrics" && section != "database" &&
         section != "checkpoint" && section != "nodes";
}

// The file a GDAL dataset name reads: the name itself, or the quoted file of NETCDF:"f.nc":var.
InputIdentity input_identity(const std::string& node, const std::string& name) {
  InputIdentity id{node, name};
  std::vector<std::string> candidates{name};
  const auto open = name.find('"');
  const auto close = open == std::string::npos ? std::string::npos : name.find('"', open + 1);
  if (close != std::string::npos) candidates.push_back(name.substr(open + 1, close - open - 1));
  for (const auto& path : candidates) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    id.size = static_cast<std::int64_t>(st.st_size);
    id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    break;
  }
  return id;
}

// How a sink's partial output differs from what checkpoint `s` recorded of it (`now`: what the
// sink writes in this run), or nothing when it still holds those bytes.
std::optional<std::string> partial_output_difference(const Checkpoint::Sink& s, const ResumableSink::State& now) {
  if (s.state.partial != now.partial)
    return "node \"" + s.id + "\" wrote " + s.state.partial.string() + " then, " + now.partial.string() + " now";
  std::error_code ec;
  const auto size = std::filesystem::file_size(s.state.partial, ec);
  if (ec) {
    const std::string final_name = s.state.partial.string().substr(0, s.state.partial.string().size() - 8);
    return "its partial output " + s.state.partial.string() + " is missing" +
           (std::filesystem::exists(final_name) ? " (" + final_name + " exists: that run finished)" : std::string());
  }
  if (size < s.state.bytes) {
    return "its partial output " + s.state.partial.string() + " holds " + std::to_string(size) +
           " bytes, fewer than the " + std::to_string(s.state.bytes) + " checkpointed";
  }
  if (tail_sha256(s.state.partial, s.state.bytes) != s.tail_sha256) {
    return "its partial output " + s.state.partial.string() +
           " does not hold the bytes the checkpoint recorded (its last 64 KiB before byte " +
           std::to_string(s.state.bytes) + " differ): it is another run's";
  }
  return std::nullopt;
}

}  // namespace

std::vector<ResumableSink*> detail::PipelineImpl::resumable_sinks() const {
  std::vector<ResumableSink*> out;
  for (const auto s : sinks) {
    ResumableSink* r = static_cast<SinkNode*>(nodes[s].get())->resumable();
    if (r == nullptr) return {};
    out.push_back(r);
  }
  return out;
}

RunIdentity Plan::identity(RowRange band) const { return impl_.run_identity(band); }

std::filesystem::path detail::PipelineImpl::checkpoint_file() const {
  if (sinks.empty()) return {};
  const std::filesystem::path out = static_cast<SinkNode*>(nodes[sinks.front()].get())->output_path();
  return out.empty() ? std::filesystem::path() : std::filesystem::path(out.string() + ".checkpoint");
}

std::string detail::PipelineImpl::checkpoint_refusal() const {
  const detail::PipelineImpl& m = *this;
  if (m.config.checkpoint.interval_s <= 0) return "checkpoint.interval_s is 0";
  if (!m.config.merge.enable_streaming) return "an in-memory export writes only at the end (--in-memory)";
  if (m.sinks.empty()) return "the graph has no sink";
  for (const auto s : m.sinks) {
    auto* sink = static_cast<SinkNode*>(m.nodes[s].get());
    if (sink->resumable() == nullptr)
      return "node \"" + sink->id() + "\" (" + sink->type() + ") cannot resume its output";
  }
  if (checkpoint_file().empty()) return "the first sink names no output file";
  return "";
}

RunIdentity detail::PipelineImpl::run_identity(RowRange rows) const {
  const detail::PipelineImpl& m = *this;
  RunIdentity id;
  const boost::json::object config = boost::json::parse(m.config.to_json()).as_object();
  const boost::json::value* overrides = config.if_contains("nodes");
  id.graph = sha256_hex(m.graph.json + "\n" + (overrides ? boost::json::serialize(*overrides) : std::string("{}")));
  for (const auto& [section, keys] : config) {
    if (!shapes_output(std::string(section)) || !keys.is_object()) continue;
    for (const auto& [key, value] : keys.as_object())
      id.config[std::string(section) + "." + std::string(key)] = sha256_hex(boost::json::serialize(value));
  }
  for (const auto& n : m.nodes) {
    for (const auto& o : NodeRegistry::instance().find(n->type())->options) {
      if (o.type == OptionType::input_path && n->spec().options.has(o.name))
        id.inputs.push_back(input_identity(n->id(), n->spec().options.str(o.name)));
    }
  }
  id.version = version();
  id.binary = binary_identity();
  const auto [begin, end] = m.band_of(rows);
  id.row_begin = begin;
  id.row_end = end;
  id.grid_width = m.context.grid.width;
  id.grid_height = m.context.grid.height;
  id.rank = m.options.rank;
  id.ranks = m.options.ranks;
  return id;
}

std::optional<Checkpoint> Pipeline::find_checkpoint(RowRange band, bool resume) {
  return impl_->find_checkpoint(band, resume);
}

std::optional<Checkpoint> detail::PipelineImpl::find_checkpoint(RowRange rows, bool resume) {
  detail::PipelineImpl& m = *this;
  claim_outputs();
  const std::filesystem::path file = checkpoint_file();
  std::error_code ec;
  const bool exists = !file.empty() && std::filesystem::exists(file, ec);
  if (!resume) {
    if (exists) {
      throw UsageError(file.string() + ": a checkpoint of an interrupted run of these outputs exists; continue it " +
                       "with --resume, or delete it (and its .partial output) to start again");
    }
    return std::nullopt;
  }
  if (const std::string refusal = checkpoint_refusal(); !refusal.empty())
    throw UsageError("--resume: this run cannot resume: " + refusal);
  if (!exists) {
    throw UsageError("--resume: no checkpoint at " + file.string() +
                     " (the run finished, was never interrupted, or wrote its outputs elsewhere: check --output-dir)");
  }
  Checkpoint c = read_checkpoint(file);
  std::vector<std::string> differences = identity_differences(c.identity, run_identity(rows));
  // The partial outputs: the same sinks, each file still holding what the checkpoint recorded.
  std::vector<std::string> ids;
  for (const auto s : m.sinks) ids.push_back(m.nodes[s]->id());
  std::vector<std::string> saved_ids;
  for (const auto& s : c.sinks) saved_ids.push_back(s.id);
  if (ids != saved_ids) differences.push_back("the graph's sinks differ from the checkpoint's");
  for (std::size_t k = 0; differences.empty() && k < c.sinks.size(); ++k) {
    if (auto d = partial_output_difference(c.sinks[k], m.resumable_sinks()[k]->written())) differences.push_back(*d);
  }
  if (c.next_row < c.identity.row_begin || c.next_row > c.identity.row_end)
    differences.push_back("its next row " + std::to_string(c.next_row) + " lies outside its band");
  if (!differences.empty()) {
    std::string text;
    for (const auto& d : differences) text += "\n  - " + d;
    throw UsageError("--resume: refusing the checkpoint " + file.string() + ", which does not match this run:" + text +
                     "\n(delete it and its .partial output to start again)");
  }
  return c;
}

}  // namespace rasterflow
