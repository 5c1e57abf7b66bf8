// ndjson_sink: one JSON object per kept cell ({"row": r, "col": c, "<column>": double or null}),
// written by an outside project with rasterflow's installed headers only (the node contract).
#include <algorithm>
#include <charconv>
#include <fstream>
#include <rasterflow/errors.hpp>
#include <rasterflow/node/option_binder.hpp>
#include <rasterflow/node/payload.hpp>
#include <rasterflow/node/registry.hpp>

namespace {
using namespace rasterflow;

struct Lines final : Payload {  // one tile's lines, formatted in parallel by process()
  std::string text;
  std::size_t bytes() const noexcept override { return text.capacity(); }
};

struct NdjsonOptions {
  std::string path;
  void declare(OptionBinder& args) { args.add("path", "the file written", path).output_path(); }
};

class NdjsonSink final : public SinkNode {
 public:
  explicit NdjsonSink(NodeSpec spec) : SinkNode(std::move(spec)), options_(bind_options<NdjsonOptions>(this->spec())) {}
  void prepare(const RunContext& ctx, std::span<Node* const>) override { path_ = ctx.output_dir / options_.path; }
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override {
    const auto table = payload_as<Table>(inputs[0]);  // a table edge: checked when the graph loaded
    auto lines = std::make_shared<Lines>();
    char number[32];
    for (const std::uint32_t c : table->cells) {
      lines->text +=
          "{\"row\":" + std::to_string(tile.row0 + c / tile.width) + ",\"col\":" + std::to_string(c % tile.width);
      for (std::size_t k = 0; k < table->columns.size(); ++k) {
        const Column& column = *table->columns[k];
        const auto end = std::to_chars(number, number + sizeof number, column.values[c]).ptr;
        lines->text += ",\"" + table->names[k] + "\":" + (column.valid[c] ? std::string(number, end) : "null");
      }
      lines->text += "}\n";
    }
    return lines;
  }
  void open() override { out_.open(partial(), std::ios::binary | std::ios::trunc); }
  void write(const TileRequest&, const PayloadPtr& data) override {  // serially, in tile order
    const auto& lines = static_cast<const Lines&>(*data);            // what process() returned
    out_ << lines.text;
    rows_ += std::count(lines.text.begin(), lines.text.end(), '\n'), bytes_ += lines.text.size();
  }
  void commit() override {
    out_.close();
    if (!out_) throw_io_error(where(), "cannot write " + partial().string());
    std::filesystem::rename(partial(), path_);  // complete: under its final name
  }
  void abort() noexcept override {
    std::error_code ignored;
    out_.close(), std::filesystem::remove(partial(), ignored);
  }
  std::uint64_t rows_written() const override { return rows_; }
  std::uint64_t bytes_written() const override { return bytes_; }
  std::filesystem::path output_path() const override { return path_; }

 private:
  std::filesystem::path partial() const { return path_.string() + ".partial"; }
  NdjsonOptions options_;
  std::filesystem::path path_;
  std::ofstream out_;
  std::uint64_t rows_ = 0, bytes_ = 0;
};

RASTERFLOW_REGISTER_NODE((NodeTypeInfo{.name = "ndjson_sink",
                                       .description = "Writes one JSON object per kept cell.",
                                       .options = declared_options<NdjsonOptions>(),
                                       .min_inputs = 1,
                                       .max_inputs = 1,
                                       .input_kind = EdgeKind::table,
                                       .is_sink = true,
                                       .create = create_node<NdjsonSink>}))  // graphs may now name it

}  // namespace
