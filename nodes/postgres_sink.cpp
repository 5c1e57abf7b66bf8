#include "nodes/postgres_sink.hpp"

// tablewriter (COPY ... FROM STDIN, raw lines) is deprecated in libpqxx 6.4 in favour of
// stream_to, which has no raw-text write there: a tile's formatted rows go in one call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#pragma GCC diagnostic pop

#include <map>

#include "nodes/common/csv_format.hpp"
#include "nodes/common/payloads.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/registry.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace rasterflow::nodes {
namespace {

// COPY text of one tile: rows separated by '\n', without the last one (tablewriter adds it).
struct CopyText final : Payload {
  std::string text;
  std::uint64_t rows = 0;
  std::size_t bytes() const noexcept override { return text.capacity(); }
};

// The SQL type holding a column of a GDAL type exactly.
std::string sql_type(const std::string& gdal_type) {
  static const std::map<std::string, std::string> types = {
      {"Byte", "smallint"}, {"Int8", "smallint"},           {"Int16", "smallint"}, {"UInt16", "integer"},
      {"Int32", "integer"}, {"UInt32", "bigint"},           {"Int64", "bigint"},   {"UInt64", "numeric(20)"},
      {"Float32", "real"},  {"Float64", "double precision"}};
  const auto it = types.find(gdal_type);
  return it == types.end() ? "double precision" : it->second;
}

// "schema.table" or "table" as a quoted SQL name.
std::string quoted_table(pqxx::connection_base& conn, const std::string& table) {
  const auto dot = table.find('.');
  if (dot == std::string::npos) return conn.quote_name(table);
  return conn.quote_name(table.substr(0, dot)) + "." + conn.quote_name(table.substr(dot + 1));
}

}  // namespace

struct PostgresSink::Session {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> tx;
  std::unique_ptr<pqxx::tablewriter> copy;
};

void PostgresSinkOptions::declare(OptionBinder& args) {
  args.add("url",
           "postgresql:// URL or libpq key=value string (\"\": libpq's PG* environment); masked in logs, plans and "
           "metrics",
           url, "")
      .secret();
  args.add("table", "table name, or schema.table", table);
  args.add("if_exists",
           "when the table exists: fail (before anything runs), replace (drop and create it, in the run's "
           "transaction), append (add the rows; its columns must include x, y and the merged columns)",
           if_exists, "fail")
      .choices({"fail", "replace", "append"});
}

PostgresSink::PostgresSink(NodeSpec spec) : PostgresSink(bind_options<PostgresSinkOptions>(spec), std::move(spec)) {}

PostgresSink::PostgresSink(PostgresSinkOptions options, NodeSpec&& spec)
    : SinkNode(std::move(spec)), options_(std::move(options)) {
  if (options_.table.empty()) throw_graph_error(where(), "option \"table\": empty table name");
  const auto dot = options_.table.find('.');
  if (dot != std::string::npos &&
      (dot == 0 || dot + 1 == options_.table.size() || options_.table.find('.', dot + 1) != std::string::npos)) {
    throw_graph_error(where(), "option \"table\": \"" + options_.table + "\" is not a table or schema.table name");
  }
}

PostgresSink::~PostgresSink() { abort(); }

std::string PostgresSink::masked(const std::string& text) const {
  std::string out = text;
  if (!options_.url.empty()) {
    const std::string shown = mask_password(options_.url);
    for (auto pos = out.find(options_.url); pos != std::string::npos; pos = out.find(options_.url, pos + shown.size()))
      out.replace(pos, options_.url.size(), shown);
  }
  return mask_password(out);
}

void PostgresSink::check_ranks(int ranks) const {
  if (ranks > 1) {
    throw UsageError(where() + ": the table is written in one transaction, which " + std::to_string(ranks) +
                     " MPI ranks cannot share; run this graph as one process (or write CSV under MPI and load it "
                     "with COPY)");
  }
}

void PostgresSink::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  const auto* table = dynamic_cast<const TableProducer*>(inputs[0]);
  if (table == nullptr)
    throw_graph_error(where(), "field \"inputs\": node \"" + inputs[0]->id() + "\" does not produce a table");
  names_ = table->column_names();
  const auto types = table->column_types();
  sql_types_.clear();
  for (std::size_t i = 0; i < names_.size(); ++i) sql_types_.push_back(sql_type(i < types.size() ? types[i] : ""));
  const Grid& grid = ctx.grid;
  const int x_decimals = coordinate_decimals(grid.x0, grid.res_x, grid.width, false);
  const int y_decimals = coordinate_decimals(grid.y0, grid.res_y, grid.height, true);
  x_text_.assign(static_cast<std::size_t>(grid.width), std::string());
  for (std::int64_t c = 0; c < grid.width; ++c)
    append_fixed(x_text_[static_cast<std::size_t>(c)], grid.center_x(c), x_decimals);
  y_text_.assign(static_cast<std::size_t>(grid.height), std::string());
  for (std::int64_t r = 0; r < grid.height; ++r)
    append_fixed(y_text_[static_cast<std::size_t>(r)], grid.center_y(r), y_decimals);
  // Before anything runs: the server answers, and the table is as if_exists needs it.
  session_ = std::make_unique<Session>();
  try {
    session_->conn = std::make_unique<pqxx::connection>(options_.url);
  } catch (const std::exception& e) {
    session_.reset();
    throw_graph_error(where(),
                      "option \"url\": cannot connect to " + mask_password(options_.url) + ": " + masked(e.what()));
  }
  std::string refusal;  // thrown once the query's transaction object is gone
  try {
    pqxx::nontransaction q(*session_->conn);
    q.exec0("SET client_min_messages TO warning");
    const pqxx::result r =
        q.exec_params("SELECT to_regclass($1) IS NOT NULL", quoted_table(*session_->conn, options_.table));
    table_exists_ = r[0][0].as<bool>();
    if (table_exists_ && options_.if_exists == "fail") {
      refusal = "option \"table\": table \"" + options_.table +
                "\" already exists (if_exists is \"fail\"; \"replace\" or \"append\" to write it)";
    }
    if (table_exists_ && options_.if_exists == "append") {
      const auto dot = options_.table.find('.');
      const std::string schema = dot == std::string::npos ? "" : options_.table.substr(0, dot);
      const std::string name = dot == std::string::npos ? options_.table : options_.table.substr(dot + 1);
      const pqxx::result cols = q.exec_params(
          "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND "
          "($2 = '' AND table_schema = ANY(current_schemas(false)) OR table_schema = $2)",
          name, schema);
      std::vector<std::string> have;
      for (const auto& row : cols) have.push_back(row[0].as<std::string>());
      std::string missing;
      std::vector<std::string> wanted = {"x", "y"};
      wanted.insert(wanted.end(), names_.begin(), names_.end());
      for (const auto& w : wanted) {
        if (std::find(have.begin(), have.end(), w) == have.end()) missing += (missing.empty() ? "" : ", ") + w;
      }
      if (!missing.empty()) {
        refusal = "option \"table\": table \"" + options_.table + "\" has no column for: " + missing +
                  " (if_exists is \"append\")";
      }
    }
  } catch (const std::exception& e) {
    refusal = "option \"table\": " + masked(e.what());
  }
  if (!refusal.empty()) {
    session_.reset();
    throw_graph_error(where(), refusal);
  }
}

PayloadPtr PostgresSink::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  const auto table = std::dynamic_pointer_cast<const Table>(inputs[0]);
  if (!table) throw_node_error(where(), "input is not a merged table");
  auto out = std::make_shared<CopyText>();
  std::string& text = out->text;
  text.reserve(table->cells.size() * (16 + 12 * table->columns.size()));
  for (const std::uint32_t cell : table->cells) {
    if (!text.empty()) text += '\n';
    const auto r = static_cast<std::size_t>(cell / static_cast<std::uint64_t>(tile.width));
    const auto c = static_cast<std::size_t>(cell % static_cast<std::uint64_t>(tile.width));
    text += x_text_[c];
    text += '\t';
    text += y_text_[static_cast<std::size_t>(tile.row0) + r];
    for (const auto& col : table->columns) {
      text += '\t';
      if (col->valid[cell])
        append_value(text, col->values[cell], col->kind);
      else
        text += "\\N";
    }
  }
  out->rows = table->cells.size();
  return out;
}

void PostgresSink::open() {
  rows_ = 0;
  bytes_ = 0;
  try {
    if (!session_ || !session_->conn) {
      session_ = std::make_unique<Session>();
      session_->conn = std::make_unique<pqxx::connection>(options_.url);
    }
    session_->tx = std::make_unique<pqxx::work>(*session_->conn, "rasterflow postgres_sink");
    pqxx::work& tx = *session_->tx;
    tx.exec0("SET LOCAL client_min_messages TO warning");
    const std::string name = quoted_table(*session_->conn, options_.table);
    if (options_.if_exists == "replace") tx.exec0("DROP TABLE IF EXISTS " + name);
    std::string columns = "x double precision NOT NULL, y double precision NOT NULL";
    for (std::size_t i = 0; i < names_.size(); ++i) columns += ", " + tx.quote_name(names_[i]) + " " + sql_types_[i];
    // fail: a table made since prepare() fails here, inside the transaction.
    tx.exec0(std::string(options_.if_exists == "append" ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ") + name +
             " (" + columns + ")");
    std::vector<std::string> copy_columns = {"x", "y"};
    copy_columns.insert(copy_columns.end(), names_.begin(), names_.end());
    for (auto& c : copy_columns) c = tx.quote_name(c);
    session_->copy = std::make_unique<pqxx::tablewriter>(tx, name, copy_columns.begin(), copy_columns.end());
  } catch (const std::exception& e) {
    abort();
    throw_io_error(where(), "table \"" + options_.table + "\": " + masked(e.what()));
  }
}

void PostgresSink::write(const TileRequest&, const PayloadPtr& data) {
  const auto* copy = static_cast<const CopyText*>(data.get());
  if (copy->rows == 0) return;
  try {
    session_->copy->write_raw_line(copy->text);
  } catch (const std::exception& e) {
    throw_io_error(where(), "COPY into \"" + options_.table + "\" failed: " + masked(e.what()));
  }
  rows_ += copy->rows;
  bytes_ += copy->text.size() + 1;
}

void PostgresSink::commit() {
  try {
    session_->copy->complete();
    session_->copy.reset();
    session_->tx->commit();
  } catch (const std::exception& e) {
    abort();
    throw_io_error(where(), "committing table \"" + options_.table + "\" failed: " + masked(e.what()));
  }
  session_.reset();
}

void PostgresSink::abort() noexcept {
  if (!session_) return;
  // Rolls back: the table's creation (or drop, for replace) and every row with it. A broken
  // connection rolls back on the server's side.
  try {
    session_->copy.reset();
  } catch (...) {
  }
  try {
    if (session_->tx) session_->tx->abort();
  } catch (...) {
  }
  try {
    session_->tx.reset();
    session_->conn.reset();
  } catch (...) {
  }
  session_.reset();
}

std::vector<std::string> PostgresSink::describe() const {
  std::string columns;
  for (std::size_t i = 0; i < names_.size(); ++i) columns += ", " + names_[i] + " " + sql_types_[i];
  return {"writes table " + options_.table + " (x, y" + columns + ") at " + mask_password(options_.url) +
          " with COPY in one transaction (if_exists " + options_.if_exists + ")"};
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "postgres_sink",
    .description = "Writes the merged table into a PostgreSQL table (x, y, one column per merged column) with COPY, "
                   "in one transaction committed at the end.",
    .options = rasterflow::declared_options<rasterflow::nodes::PostgresSinkOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = "table",
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::PostgresSink>,
    .operation = "write"}))
