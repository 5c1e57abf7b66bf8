// The TableSink base (rasterflow/node/table_sink.hpp) with a sink of its own, test_lines, that
// writes "row,column,value" lines: accounting, the partial file and its rename, nothing left on
// abort or failure, and an emit in tile order whatever order the parallel formatting ends in.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/node/table_sink.hpp"
#include "support/fake_nodes.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

struct LinesOptions {
  std::string path;
  std::int64_t fail_at = -1;    // emit() throws at this tile
  bool fail_finish = false;     // finish() throws
  std::int64_t slow_first = 0;  // format() of the first tiles waits (ms), so later tiles end first
  void declare(OptionBinder& args) {
    args.add("path", "output file", path).output_path();
    args.add("fail_at", "the tile whose emit fails", fail_at, std::int64_t{-1});
    args.add("fail_finish", "finish fails", fail_finish, false);
    args.add("slow_first", "ms the first 4 tiles' formatting waits", slow_first, std::int64_t{0});
  }
};

// The order format() ended and emit() ran in, tile by tile.
struct Log {
  std::mutex mutex;
  std::vector<std::uint64_t> formatted;
  std::vector<std::uint64_t> emitted;
  bool discarded = false;
};
Log& log() {
  static Log l;
  return l;
}
void reset_log() {
  const std::lock_guard lock(log().mutex);
  log().formatted.clear();
  log().emitted.clear();
  log().discarded = false;
}

struct Lines final : Payload {
  std::string text;
  std::uint64_t rows = 0;
  std::size_t bytes() const noexcept override { return text.capacity(); }
};

class LinesSink final : public TableSink {
 public:
  explicit LinesSink(NodeSpec spec) : LinesSink(bind_options<LinesOptions>(spec), std::move(spec)) {}

 private:
  LinesSink(LinesOptions options, NodeSpec&& spec)
      : TableSink(std::move(spec), Output::stream, options.path), options_(std::move(options)) {}
  void prepare_table(const RunContext&, const nodes::TableProducer& table) override { names_ = table.column_names(); }
  PayloadPtr format(const TileRequest& tile, const nodes::Table& table) const override {
    if (tile.seq < 4 && options_.slow_first > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.slow_first));
    auto out = std::make_shared<Lines>();
    for (const std::uint32_t cell : table.cells) {
      const std::int64_t r = tile.row0 + cell / tile.width;
      const std::int64_t c = cell % tile.width;
      out->text += std::to_string(r) + "," + std::to_string(c) + "," +
                   std::to_string(static_cast<std::int64_t>(table.columns[0]->values[cell])) + "\n";
    }
    out->rows = table.cells.size();
    const std::lock_guard lock(log().mutex);
    log().formatted.push_back(tile.seq);
    return out;
  }
  void emit(const TileRequest& tile, const Payload& data) override {
    if (static_cast<std::int64_t>(tile.seq) == options_.fail_at) throw std::runtime_error("test_lines: emit fails");
    const auto& lines = static_cast<const Lines&>(data);
    write_bytes(lines.text, lines.rows);
    const std::lock_guard lock(log().mutex);
    log().emitted.push_back(tile.seq);
  }
  void finish() override {
    if (options_.fail_finish) throw std::runtime_error("test_lines: finish fails");
  }
  void discard() noexcept override {
    const std::lock_guard lock(log().mutex);
    log().discarded = true;
  }
  LinesOptions options_;
  std::vector<std::string> names_;
};

[[maybe_unused]] const bool lines_registered =
    NodeRegistry::instance().add(NodeTypeInfo{.name = "test_lines",
                                              .description = "Test TableSink: row,column,value lines.",
                                              .options = declared_options<LinesOptions>(),
                                              .min_inputs = 1,
                                              .max_inputs = 1,
                                              .input_kind = EdgeKind::table,
                                              .is_sink = true,
                                              .create = create_node<LinesSink>,
                                              .operation = "write"});

// The lines test_table's kept cells make over `height` rows of `width`, in raster order.
std::string expected_lines(std::int64_t width, std::int64_t height, std::uint64_t* rows = nullptr) {
  std::string text;
  std::uint64_t n = 0;
  for (std::int64_t r = 0; r < height; ++r) {
    for (std::int64_t c = 0; c < width; ++c) {
      if (!test::table_keeps(r, c)) continue;
      text += std::to_string(r) + "," + std::to_string(c) + "," +
              std::to_string(static_cast<std::int64_t>(test::table_value(r, c))) + "\n";
      ++n;
    }
  }
  if (rows != nullptr) *rows = n;
  return text;
}

std::string lines_graph(const std::string& sink_options) {
  return R"({"grid": {"resolution": 1, "extent": [0, 0, 7, 50]}, "nodes": [
    {"id": "table", "type": "test_table", "width": 7, "height": 50},
    {"id": "lines", "type": "test_lines", "inputs": ["table"], "path": "out.txt")" +
         sink_options + "}]}";
}

// A test_lines sink made directly, on a 7 x 3 grid, with a test_table input (or `input`).
struct Direct {
  std::unique_ptr<Node> source;
  std::unique_ptr<LinesSink> sink;
  Config config;
  RunContext ctx;
  explicit Direct(const std::filesystem::path& path, bool fail_finish = false,
                  std::unique_ptr<Node> input = test::make_table_source(7, 3))
      : source(std::move(input)) {
    NodeSpec spec;
    spec.id = "lines";
    spec.type = "test_lines";
    spec.options.set("path", path.string());
    spec.options.set("fail_finish", fail_finish);
    sink = std::make_unique<LinesSink>(std::move(spec));
    ctx.grid = Grid{.x0 = 0, .y0 = 3, .res_x = 1, .res_y = 1, .width = 7, .height = 3};
    ctx.config = &config;
  }
  void prepare() {
    Node* const inputs[] = {source.get()};
    sink->prepare(ctx, inputs);
  }
  void write_tile(std::uint64_t seq) {
    const TileRequest tile{seq, static_cast<std::int64_t>(seq), 1, 7};
    const PayloadPtr table = test::table_tile(tile);
    sink->write(tile, sink->process(tile, std::vector<PayloadPtr>{table}));
  }
};

}  // namespace

TEST_CASE("TableSink.Accounting.RowsAndBytesOfWhatItWrites" * doctest::timeout(60)) {
  test::TempDir dir;
  reset_log();
  PlanOptions options;
  options.tile_rows = 4;
  options.threads = 2;
  const RunSummary s = test::run_graph_json(dir.path(), lines_graph(""), options, {"metrics.backend=none"});
  std::uint64_t rows = 0;
  const std::string expected = expected_lines(7, 50, &rows);
  CHECK(test::read_text(dir / "out.txt") == expected);
  CHECK(s.rows_written == rows);
  CHECK(s.bytes_written == expected.size());
  CHECK(std::filesystem::file_size(dir / "out.txt") == expected.size());
}

TEST_CASE("TableSink.Atomic.PartialUntilCommitThenRenamed") {
  test::TempDir dir;
  Direct d(dir / "out.txt");
  d.prepare();
  d.sink->open();
  d.write_tile(0);
  d.write_tile(1);
  CHECK(std::filesystem::exists(dir / "out.txt.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt"));
  CHECK(d.sink->rows_written() == 9);  // 7 cells a row, (row + column) % 3 == 0 dropped: 5 + 4
  CHECK(d.sink->bytes_written() == std::filesystem::file_size(dir / "out.txt.partial"));
  d.write_tile(2);
  d.sink->commit();
  CHECK(std::filesystem::exists(dir / "out.txt"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt.partial"));
  CHECK(test::read_text(dir / "out.txt") == expected_lines(7, 3));
}

TEST_CASE("TableSink.Atomic.NothingLeftOnAbort") {
  test::TempDir dir;
  reset_log();
  Direct d(dir / "out.txt");
  d.prepare();
  d.sink->open();
  d.write_tile(0);
  REQUIRE(std::filesystem::exists(dir / "out.txt.partial"));
  d.sink->abort();
  CHECK(log().discarded);
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt"));
}

TEST_CASE("TableSink.Atomic.NothingLeftWhenFinishFails") {
  test::TempDir dir;
  reset_log();
  Direct d(dir / "out.txt", true);
  d.prepare();
  d.sink->open();
  d.write_tile(0);
  CHECK_THROWS_WITH(d.sink->commit(), doctest::Contains("finish fails"));
  CHECK(log().discarded);
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt"));
}

TEST_CASE("TableSink.Atomic.NothingLeftWhenARunFails" * doctest::timeout(60)) {
  test::TempDir dir;
  reset_log();
  PlanOptions options;
  options.tile_rows = 2;
  options.threads = 2;
  CHECK_THROWS_WITH(
      test::run_graph_json(dir.path(), lines_graph(R"(, "fail_at": 5)"), options, {"metrics.backend=none"}),
      doctest::Contains("emit fails"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.txt"));
  const std::lock_guard lock(log().mutex);
  CHECK(log().emitted == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("TableSink.Order.EmitInTileOrderFromParallelFormatting" * doctest::timeout(60)) {
  // The first tiles' formatting waits, so that later tiles are formatted first on the other
  // threads; emit() still sees 0, 1, 2, ... and the file is in raster order.
  test::TempDir dir;
  reset_log();
  PlanOptions options;
  options.tile_rows = 1;
  options.threads = 4;
  test::run_graph_json(dir.path(), lines_graph(R"(, "slow_first": 100)"), options, {"metrics.backend=none"});
  CHECK(test::read_text(dir / "out.txt") == expected_lines(7, 50));
  const std::lock_guard lock(log().mutex);
  REQUIRE(log().emitted.size() == 50);
  for (std::uint64_t k = 0; k < 50; ++k) CHECK(log().emitted[k] == k);
  REQUIRE(log().formatted.size() == 50);
  CHECK_MESSAGE(log().formatted != log().emitted, "the formatting ended in tile order: nothing was reordered");
}

TEST_CASE("TableSink.Producer.RefusesAnInputThatIsNoTable") {
  test::TempDir dir;
  NodeSpec values;
  values.id = "values";
  values.type = "test_constant";
  values.options.set("width", std::int64_t{7});
  values.options.set("height", std::int64_t{3});
  values.options.set("offset", 0.0);
  Direct d(dir / "out.txt", false, NodeRegistry::instance().find("test_constant")->create(values));
  CHECK_THROWS_WITH(d.prepare(), doctest::Contains("node \"values\" does not produce a table"));
}
