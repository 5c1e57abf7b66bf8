#include <doctest/doctest.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "nodes/sinks/csv_format.hpp"
#include "nodes/sinks/csv_sink.hpp"
#include "nodes/transforms/merge.hpp"
#include "rasterflow/config.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/registry.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
std::string fixed(double v, int d) {
  std::string s;
  nodes::append_fixed(s, v, d);
  return s;
}
std::string value(double v, nodes::ValueKind k) {
  std::string s;
  nodes::append_value(s, v, k);
  return s;
}
}  // namespace

TEST_CASE("CsvSink.Registry.IsASink") {
  const NodeTypeInfo* info = NodeRegistry::instance().find("csv_sink");
  REQUIRE(info != nullptr);
  CHECK(info->is_sink);
  CHECK(info->input_kind == EdgeKind::table);
}

TEST_CASE("CsvSink.Coordinates.FixedWithFewestDecimals") {
  CHECK(fixed(-179.91000000000003, 3) == "-179.91");
  CHECK(fixed(-179.975, 3) == "-179.975");
  CHECK(fixed(1.0, 2) == "1");
  CHECK(fixed(-0.0000001, 3) == "0");
  CHECK(fixed(42.0, 0) == "42");
  CHECK(fixed(0.05, 12) == "0.05");
}

TEST_CASE("CsvSink.Values.IntegersAndShortestRoundTrip") {
  CHECK(value(-32767, nodes::ValueKind::integer) == "-32767");
  CHECK(value(4294967295.0, nodes::ValueKind::integer) == "4294967295");
  CHECK(value(static_cast<double>(0.1f), nodes::ValueKind::float32) == "0.1");
  CHECK(value(0.1, nodes::ValueKind::float64) == "0.1");
  CHECK(value(static_cast<double>(0.1f), nodes::ValueKind::float64) == "0.10000000149011612");
  CHECK(value(5.5, nodes::ValueKind::float64) == "5.5");
  CHECK(value(12.0, nodes::ValueKind::float64) == "12");
}

TEST_CASE("CsvSink.Values.Float32TextIsStdToChars") {
  // format_float32 writes what std::to_chars writes for every float: one in 2039 of all 2^32
  // bit patterns (every sign, exponent and a spread of significands), and the edges.
  const auto same = [](float f) {
    char ours[32];
    char theirs[32];
    const char* our_end = nodes::format_float32(ours, f);
    const char* their_end = std::to_chars(theirs, theirs + sizeof theirs, f).ptr;
    return std::string(static_cast<const char*>(ours), our_end) ==
           std::string(static_cast<const char*>(theirs), their_end);
  };
  std::uint64_t differ = 0;
  std::string first;
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 2039) {
    const auto pattern = static_cast<std::uint32_t>(bits);
    float f = 0;
    std::memcpy(&f, &pattern, sizeof f);
    if (!same(f)) {
      if (differ++ == 0) first = std::to_string(pattern);
    }
  }
  CHECK_MESSAGE(differ == 0, "first differing bit pattern: " << first);
  for (const float f : {0.0f,
                        -0.0f,
                        1.0f,
                        -1.0f,
                        0.1f,
                        1e-45f,
                        -1e-45f,
                        1.17549435e-38f,
                        3.40282347e+38f,
                        1e7f,
                        1e8f,
                        123456789.0f,
                        16777216.0f,
                        16777217.0f,
                        33554430.0f,
                        1e10f,
                        1e-5f,
                        0.0001f,
                        0.001f,
                        1234.5f,
                        -20.784664f,
                        1e16f,
                        1e-10f,
                        std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN()}) {
    CAPTURE(f);
    CHECK(same(f));
  }
  for (int i = -1000000; i <= 1000000; i += 7) CHECK_MESSAGE(same(static_cast<float>(i) / 1000.0f), i);
}

namespace {
// Formats one tile of integer values i % 100 through a csv_sink on an 18000 x 9000 grid of
// 0.02 degrees, with one column named `name`, writes it to dir/o.csv and returns the bytes the
// tile's text counted for itself.
std::size_t format_tile(const test::TempDir& dir, const TileRequest& tile, const std::string& name,
                        const std::vector<std::string>& sets) {
  NodeSpec merged;  // the sink asks its input for its columns: a merge of one
  merged.id = "m";
  merged.type = "merge";
  merged.inputs = {name};
  merged.options.set("drop", std::string("all_nodata"));
  nodes::Merge input(merged);
  NodeSpec spec;
  spec.id = "o";
  spec.type = "csv_sink";
  spec.options.set("path", (dir / "o.csv").string());
  nodes::CsvSink sink(spec);
  Config config;
  for (const auto& s : sets) config.set(s);
  RunContext ctx;
  ctx.grid = Grid{.x0 = -180, .y0 = 90, .res_x = 0.02, .res_y = 0.02, .width = 18000, .height = 9000};
  ctx.config = &config;
  Node* const inputs[] = {&input};
  sink.prepare(ctx, inputs);
  auto table = std::make_shared<nodes::Table>();
  auto column = std::make_shared<nodes::Column>();
  column->kind = nodes::ValueKind::integer;
  for (std::int64_t i = 0; i < tile.cells(); ++i) {
    column->values.push_back(static_cast<double>(i % 100));
    column->valid.push_back(1);
    table->cells.push_back(static_cast<std::uint32_t>(i));
  }
  table->names = {name};
  table->columns = {column};
  const PayloadPtr text = sink.process(tile, std::vector<PayloadPtr>{table});
  sink.open();
  sink.write(tile, text);
  sink.commit();
  return text->bytes();
}
}  // namespace

TEST_CASE("CsvSink.Text.HoldsAboutTheBytesItWrites") {
  // A tile's formatted text is what the byte budget counts for it: its buffers are filled, so
  // it holds about the bytes it writes, not room for the longest row it could have in every
  // chunk (which counted 3-4 x the text, and left one tile in flight under tight limits).
  test::TempDir dir;
  const std::size_t bytes = format_tile(dir, TileRequest{0, 100, 2, 18000}, "v", {});
  const auto written = std::filesystem::file_size(dir / "o.csv");
  CHECK(written > 36000 * 15);  // "-179.99,87.97,42\n": 15-18 bytes a row
  CHECK(bytes >= written);      // whole buffers of a sixteenth of the longest row: at most one more
  CHECK(bytes <= written + 18000 * (13 + 7 + 3 + 25) / 16);
}

TEST_CASE("CsvSink.Text.HeaderOfAnyLength") {
  // The header is its own chunk: names longer than a buffer (one-row chunks, 6000-character
  // name) are written whole, before the first rows.
  test::TempDir dir;
  const std::string name(6000, 'n');
  const std::size_t bytes = format_tile(dir, TileRequest{0, 0, 1, 3}, name, {"merge.streaming_chunk_size=1"});
  const std::string expected = "x,y," + name + "\n-179.99,89.99,0\n-179.97,89.99,1\n-179.95,89.99,2\n";
  CHECK(test::read_text(dir / "o.csv") == expected);
  CHECK(bytes >= expected.size());
}

TEST_CASE("CsvSink.Header.QuotedAsRfc4180") {
  // Column names are the merge's business; how CSV writes them is the sink's: a name with a
  // comma, a quote or a line break is quoted, quotes doubled (as pandas and R read it back).
  CHECK(nodes::csv_field("temp") == "temp");
  CHECK(nodes::csv_field("a,b") == "\"a,b\"");
  CHECK(nodes::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(nodes::csv_field("two\nlines") == "\"two\nlines\"");
  test::TempDir dir;
  format_tile(dir, TileRequest{0, 0, 1, 1}, "rain, mm", {});
  CHECK(test::read_text(dir / "o.csv") == "x,y,\"rain, mm\"\n-179.99,89.99,0\n");
}

TEST_CASE("CsvSink.Coordinates.SlotsAndLongerTexts") {
  // Texts up to a slot are copied as a whole slot, longer ones by their size; either way a
  // text ends where the next write starts, and what follows overwrites the slot's tail.
  for (const std::size_t longest : {std::size_t{4}, nodes::CoordinateTexts::kSlot, nodes::CoordinateTexts::kSlot + 9}) {
    CAPTURE(longest);
    const std::vector<std::string> texts = {"-1", std::string(longest, '7'), "0.25", ""};
    nodes::CoordinateTexts t;
    t.build(texts);
    CHECK(t.longest() == longest);
    std::string out(4 * (longest + nodes::CoordinateTexts::kSlot + 1), '#');
    char* p = out.data();
    for (std::size_t i = 0; i < texts.size(); ++i) {
      p = t.put(p, i);
      *p++ = '|';
    }
    CHECK(std::string(out.data(), p) == "-1|" + std::string(longest, '7') + "|0.25||");
  }
}

namespace {
// One process standing in for an MPI world of `size` ranks at rank 0: concatenate copies.
class OneRank final : public Ranks {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::int64_t broadcast(std::int64_t value) override { return value; }
  std::uint64_t concatenate(const std::filesystem::path& local, const std::filesystem::path& shared) override {
    std::filesystem::copy_file(local, shared, std::filesystem::copy_options::overwrite_existing);
    return std::filesystem::file_size(shared);
  }
};
}  // namespace

TEST_CASE("CsvSink.Ranks.GatherConcatenatesBandsUnderTheFinalName") {
  // The CSV sink says how ranks combine: each rank's band is a byte range of the whole.
  test::TempDir dir;
  NodeSpec spec;
  spec.id = "o";
  spec.type = "csv_sink";
  spec.options.set("path", (dir / "o.csv").string());
  nodes::CsvSink sink(spec);
  CHECK_NOTHROW(sink.check_ranks(4));
  Config config;
  RunContext ctx;
  ctx.grid = Grid{.x0 = 0, .y0 = 1, .res_x = 1, .res_y = 1, .width = 1, .height = 1};
  ctx.config = &config;
  ctx.output_suffix = ".rank0";
  NodeSpec merged;
  merged.id = "m";
  merged.type = "merge";
  merged.inputs = {"v"};
  merged.options.set("drop", std::string("all_nodata"));
  nodes::Merge input(merged);
  Node* const inputs[] = {&input};
  sink.prepare(ctx, inputs);
  CHECK(sink.output_path() == dir / "o.csv.rank0");
  sink.open();
  sink.commit();
  // A committed band stays <band>.partial (the file a checkpoint names) until the caller
  // removes it once every sink has gathered.
  CHECK(std::filesystem::exists(dir / "o.csv.rank0.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv.rank0"));
  OneRank ranks;
  const SinkNode::Gathered g = sink.gather(ranks);
  CHECK(g.path == dir / "o.csv");
  CHECK(std::filesystem::exists(dir / "o.csv"));
  CHECK(std::filesystem::exists(dir / "o.csv.rank0.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv.partial"));
}
