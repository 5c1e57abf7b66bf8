#include "nodes/sinks/postgres_sink.hpp"

// tablewriter (COPY ... FROM STDIN, raw lines) is deprecated in libpqxx 6.4 in favour of
// stream_to, which has no raw-text write there: a tile's formatted rows go in one call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#pragma GCC diagnostic pop

#include <ogr_srs_api.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "nodes/sinks/csv_format.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/hpc/output_lock.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/registry.hpp"

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

// The EPSG code of a CRS (WKT), when it has one or GDAL identifies one.
std::optional<std::int64_t> epsg_code(const std::string& wkt) {
  if (wkt.empty()) return std::nullopt;
  const std::unique_ptr<void, void (*)(void*)> srs(OSRNewSpatialReference(nullptr), [](void* h) {
    OSRDestroySpatialReference(static_cast<OGRSpatialReferenceH>(h));
  });
  auto* h = static_cast<OGRSpatialReferenceH>(srs.get());
  if (OSRSetFromUserInput(h, wkt.c_str()) != OGRERR_NONE) return std::nullopt;
  const auto code = [&]() -> std::optional<std::int64_t> {
    const char* auth = OSRGetAuthorityName(h, nullptr);
    const char* value = OSRGetAuthorityCode(h, nullptr);
    if (auth == nullptr || value == nullptr || std::strcmp(auth, "EPSG") != 0) return std::nullopt;
    return std::strtoll(value, nullptr, 10);
  };
  if (auto found = code()) return found;
  if (OSRAutoIdentifyEPSG(h) == OGRERR_NONE) return code();
  return std::nullopt;
}

// Little-endian bytes as hex, as PostGIS's hex EWKB text carries them.
template <typename T>
void append_hex(std::string& out, T value) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and every platform Debian builds PostGIS for here: little-endian
  for (const unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
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
  args.add("geometry",
           "name of a PostGIS geometry(Point, srid) column holding each row's (x, y) (\"\": none); the database "
           "needs the PostGIS extension (see create_postgis)",
           geometry, "");
  args.add("srid",
           "the geometry's SRID (default: the grid CRS's EPSG code; a CRS without one needs srid, 0 for unknown)", srid)
      .min(0);
  args.add("create_postgis",
           "when the database lacks PostGIS: create it (CREATE EXTENSION IF NOT EXISTS postgis, in the run's "
           "transaction) rather than refuse the run",
           create_postgis, false);
  args.add("geometry_index", "build a GiST index on the geometry column after the rows, in the run's transaction",
           geometry_index, false);
}

PostgresSink::PostgresSink(NodeSpec spec) : PostgresSink(bind_options<PostgresSinkOptions>(spec), std::move(spec)) {}

PostgresSink::PostgresSink(PostgresSinkOptions options, NodeSpec&& spec)
    : TableSink(std::move(spec), Output::none), options_(std::move(options)) {
  if (options_.table.empty()) throw_graph_error(where(), "option \"table\": empty table name");
  const auto dot = options_.table.find('.');
  if (dot != std::string::npos &&
      (dot == 0 || dot + 1 == options_.table.size() || options_.table.find('.', dot + 1) != std::string::npos)) {
    throw_graph_error(where(), "option \"table\": \"" + options_.table + "\" is not a table or schema.table name");
  }
  if (options_.geometry.empty()) {
    const char* needs = options_.srid             ? "srid"
                        : options_.create_postgis ? "create_postgis"
                        : options_.geometry_index ? "geometry_index"
                                                  : nullptr;
    if (needs != nullptr)
      throw_graph_error(where(), std::string("option \"") + needs + "\": no geometry column (set option \"geometry\")");
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

void PostgresSink::prepare_table(const RunContext& ctx, const TableProducer& table) {
  names_ = table.column_names();
  metadata_ = table.column_metadata();
  const auto types = table.column_types();
  sql_types_.clear();
  for (std::size_t i = 0; i < names_.size(); ++i) sql_types_.push_back(sql_type(i < types.size() ? types[i] : ""));
  prepare_coordinates(ctx.grid);
  connect();
  std::string refusal;  // thrown once the query's transaction object is gone
  try {
    pqxx::nontransaction q(*session_->conn);
    q.exec0("SET client_min_messages TO warning");
    refusal = check_table(q);
  } catch (const std::exception& e) {
    refusal = "option \"table\": " + masked(e.what());
  }
  if (!refusal.empty()) {
    session_.reset();
    throw_graph_error(where(), refusal);
  }
}

void PostgresSink::prepare_coordinates(const Grid& grid) {
  const int x_decimals = coordinate_decimals(grid.x0, grid.res_x, grid.width, false);
  const int y_decimals = coordinate_decimals(grid.y0, grid.res_y, grid.height, true);
  x_text_.assign(static_cast<std::size_t>(grid.width), std::string());
  for (std::int64_t c = 0; c < grid.width; ++c)
    append_fixed(x_text_[static_cast<std::size_t>(c)], grid.center_x(c), x_decimals);
  y_text_.assign(static_cast<std::size_t>(grid.height), std::string());
  for (std::int64_t r = 0; r < grid.height; ++r)
    append_fixed(y_text_[static_cast<std::size_t>(r)], grid.center_y(r), y_decimals);
  ewkb_prefix_.clear();
  x_ewkb_.clear();
  y_ewkb_.clear();
  if (!options_.geometry.empty()) prepare_geometry(grid);
}

void PostgresSink::connect() {
  session_ = std::make_unique<Session>();
  try {
    session_->conn = std::make_unique<pqxx::connection>(options_.url);
  } catch (const std::exception& e) {
    session_.reset();
    throw_graph_error(where(),
                      "option \"url\": cannot connect to " + mask_password(options_.url) + ": " + masked(e.what()));
  }
}

std::string PostgresSink::check_table(pqxx::transaction_base& q) {
  const pqxx::result r =
      q.exec_params("SELECT to_regclass($1) IS NOT NULL", quoted_table(*session_->conn, options_.table));
  table_exists_ = r[0][0].as<bool>();
  if (table_exists_ && options_.if_exists == "fail") {
    return "option \"table\": table \"" + options_.table +
           "\" already exists (if_exists is \"fail\"; \"replace\" or \"append\" to write it)";
  }
  if (!options_.geometry.empty()) {
    if (std::string refusal = check_postgis(q); !refusal.empty()) return refusal;
  }
  if (table_exists_ && options_.if_exists == "append") return check_append(q);
  return "";
}

std::string PostgresSink::check_append(pqxx::transaction_base& q) {
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
  if (!options_.geometry.empty()) wanted.push_back(options_.geometry);
  for (const auto& w : wanted) {
    if (std::find(have.begin(), have.end(), w) == have.end()) missing += (missing.empty() ? "" : ", ") + w;
  }
  if (!missing.empty()) {
    return "option \"table\": table \"" + options_.table + "\" has no column for: " + missing +
           " (if_exists is \"append\")";
  }
  if (options_.geometry.empty()) return "";
  const pqxx::result type = q.exec_params(
      "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
      "attname = $2 AND NOT attisdropped",
      quoted_table(*session_->conn, options_.table), options_.geometry);
  const std::string have_type = type.empty() ? "" : type[0][0].as<std::string>();
  if (have_type == geometry_type()) return "";
  return "option \"geometry\": column \"" + options_.geometry + "\" of table \"" + options_.table + "\" is " +
         have_type + ", not " + geometry_type() + " (if_exists is \"append\")";
}

PayloadPtr PostgresSink::format(const TileRequest& tile, const Table& table) const {
  auto out = std::make_shared<CopyText>();
  std::string& text = out->text;
  const bool geometry = !ewkb_prefix_.empty();
  text.reserve(table.cells.size() * (16 + 12 * table.columns.size() + (geometry ? 52 : 0)));
  for (const std::uint32_t cell : table.cells) {
    if (!text.empty()) text += '\n';
    const auto r = static_cast<std::size_t>(cell / static_cast<std::uint64_t>(tile.width));
    const auto c = static_cast<std::size_t>(cell % static_cast<std::uint64_t>(tile.width));
    text += x_text_[c];
    text += '\t';
    text += y_text_[static_cast<std::size_t>(tile.row0) + r];
    for (const auto& col : table.columns) {
      text += '\t';
      if (col->valid[cell])
        append_cell(text, *col, cell);
      else
        text += "\\N";
    }
    if (geometry) {
      text += '\t';
      text += ewkb_prefix_;
      text += x_ewkb_[c];
      text += y_ewkb_[static_cast<std::size_t>(tile.row0) + r];
    }
  }
  out->rows = table.cells.size();
  return out;
}

namespace {

// The advisory lock's key: a hash of schema.table (the schema the session would create an
// unqualified table in). The same text on every client gives the same key.
constexpr const char* kLockKey =
    "hashtextextended('rasterflow postgres_sink ' || coalesce(nullif($1, ''), current_schema()) || '.' || $2, 0)";

// Who holds the lock on `key`: the application name rasterflow sets, the client and backend.
std::string lock_holder(pqxx::nontransaction& q, std::int64_t key) {
  const pqxx::result r = q.exec_params(
      "SELECT coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), a.pid "
      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
      "AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) AND l.objid::bigint = ($1::bigint & 4294967295)",
      key);
  if (r.empty()) return "a session that ended just now";
  return r[0][0].as<std::string>() + ", client " + r[0][1].as<std::string>() + ", server backend pid " +
         r[0][2].as<std::string>();
}

}  // namespace

void PostgresSink::claim_output() {
  const auto dot = options_.table.find('.');
  const std::string schema = dot == std::string::npos ? "" : options_.table.substr(0, dot);
  const std::string table = dot == std::string::npos ? options_.table : options_.table.substr(dot + 1);
  std::string busy;
  try {
    lock_ = std::make_unique<Session>();
    lock_->conn = std::make_unique<pqxx::connection>(options_.url);
    pqxx::nontransaction q(*lock_->conn);
    q.exec_params1("SELECT set_config('application_name', $1, false)",
                   ("rasterflow " + this_process_description()).substr(0, 63));
    const std::int64_t key = q.exec_params1(std::string("SELECT ") + kLockKey, schema, table)[0].as<std::int64_t>();
    if (!q.exec_params1("SELECT pg_try_advisory_lock($1)", key)[0].as<bool>()) busy = lock_holder(q, key);
  } catch (const std::exception& e) {
    lock_.reset();
    throw_io_error(where(), "cannot lock table \"" + options_.table + "\": " + masked(e.what()));
  }
  if (busy.empty()) return;
  lock_.reset();
  throw OutputBusy(where() + ": the output table \"" + options_.table + "\" is being written by another run (" + busy +
                   "): one writer per output; wait for it to end or stop it");
}

void PostgresSink::begin() {
  try {
    if (!session_ || !session_->conn) {
      session_ = std::make_unique<Session>();
      session_->conn = std::make_unique<pqxx::connection>(options_.url);
    }
    session_->tx = std::make_unique<pqxx::work>(*session_->conn, "rasterflow postgres_sink");
    pqxx::work& tx = *session_->tx;
    tx.exec0("SET LOCAL client_min_messages TO warning");
    if (create_postgis_now_) {
      tx.exec0("CREATE EXTENSION IF NOT EXISTS postgis");
      // The check prepare() could not make before the extension (and its spatial_ref_sys) existed.
      if (srid_ != 0 && tx.exec_params("SELECT 1 FROM spatial_ref_sys WHERE srid = $1", srid_).empty())
        throw std::runtime_error("option \"srid\": SRID " + std::to_string(srid_) +
                                 " is not in PostGIS's spatial_ref_sys");
    }
    const std::string name = quoted_table(*session_->conn, options_.table);
    if (options_.if_exists == "replace") tx.exec0("DROP TABLE IF EXISTS " + name);
    std::string columns = "x double precision NOT NULL, y double precision NOT NULL";
    for (std::size_t i = 0; i < names_.size(); ++i) columns += ", " + tx.quote_name(names_[i]) + " " + sql_types_[i];
    if (!options_.geometry.empty()) columns += ", " + tx.quote_name(options_.geometry) + " " + geometry_type();
    // fail: a table made since prepare() fails here, inside the transaction.
    tx.exec0(std::string(options_.if_exists == "append" ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ") + name +
             " (" + columns + ")");
    // Each column's units as its comment (psql's \d+ shows them), when the source gives them.
    for (std::size_t i = 0; i < names_.size() && i < metadata_.size(); ++i) {
      if (metadata_[i].units.empty()) continue;
      tx.exec0("COMMENT ON COLUMN " + name + "." + tx.quote_name(names_[i]) + " IS " +
               tx.quote("units: " + metadata_[i].units));
    }
    std::vector<std::string> copy_columns = {"x", "y"};
    copy_columns.insert(copy_columns.end(), names_.begin(), names_.end());
    if (!options_.geometry.empty()) copy_columns.push_back(options_.geometry);
    for (auto& c : copy_columns) c = tx.quote_name(c);
    session_->copy = std::make_unique<pqxx::tablewriter>(tx, name, copy_columns.begin(), copy_columns.end());
  } catch (const std::exception& e) {
    throw_io_error(where(), "table \"" + options_.table + "\": " + masked(e.what()));
  }
}

void PostgresSink::emit(const TileRequest&, const Payload& data) {
  const auto* copy = static_cast<const CopyText*>(&data);
  if (copy->rows == 0) return;
  try {
    session_->copy->write_raw_line(copy->text);
  } catch (const std::exception& e) {
    throw_io_error(where(), "COPY into \"" + options_.table + "\" failed: " + masked(e.what()));
  }
  count(copy->rows, copy->text.size() + 1);
}

void PostgresSink::finish() {
  try {
    session_->copy->complete();
    session_->copy.reset();
    if (options_.geometry_index) {
      // Named after the table and column, so that an append finds the index it made before.
      const auto dot = options_.table.find('.');
      const std::string bare = dot == std::string::npos ? options_.table : options_.table.substr(dot + 1);
      session_->tx->exec0("CREATE INDEX IF NOT EXISTS " +
                          session_->tx->quote_name(bare + "_" + options_.geometry + "_gist") + " ON " +
                          quoted_table(*session_->conn, options_.table) + " USING gist (" +
                          session_->tx->quote_name(options_.geometry) + ")");
    }
    session_->tx->commit();
  } catch (const std::exception& e) {
    throw_io_error(where(), "committing table \"" + options_.table + "\" failed: " + masked(e.what()));
  }
  session_.reset();
}

void PostgresSink::discard() noexcept {
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

std::string PostgresSink::geometry_type() const {
  return srid_ == 0 ? std::string("geometry(Point)") : "geometry(Point," + std::to_string(srid_) + ")";
}

void PostgresSink::prepare_geometry(const Grid& grid) {
  const auto clash = std::find(names_.begin(), names_.end(), options_.geometry);
  if (options_.geometry == "x" || options_.geometry == "y" || clash != names_.end())
    throw_graph_error(where(), "option \"geometry\": \"" + options_.geometry + "\" is already a column of the table");
  if (options_.srid) {
    srid_ = *options_.srid;
  } else if (const auto code = epsg_code(grid.crs)) {
    srid_ = *code;
  } else {
    throw_graph_error(where(),
                      "option \"geometry\": the grid's CRS has no EPSG code to use as the SRID; set option "
                      "\"srid\" (0: unknown)");
  }
  if (srid_ > std::numeric_limits<std::int32_t>::max())
    throw_graph_error(where(), "option \"srid\": " + std::to_string(srid_) + " is out of range");
  // Hex EWKB, little-endian (01); the point type 1, with the SRID flag 0x20000000 and the SRID
  // when there is one.
  ewkb_prefix_ = "01";
  append_hex(ewkb_prefix_, static_cast<std::uint32_t>(srid_ == 0 ? 1u : 0x20000001u));
  if (srid_ != 0) append_hex(ewkb_prefix_, static_cast<std::uint32_t>(srid_));
  // The doubles PostgreSQL's float8 input makes of the x and y text (strtod, correctly rounded).
  for (const auto& x : x_text_) append_hex(x_ewkb_.emplace_back(), std::strtod(x.c_str(), nullptr));
  for (const auto& y : y_text_) append_hex(y_ewkb_.emplace_back(), std::strtod(y.c_str(), nullptr));
}

std::string PostgresSink::check_postgis(pqxx::transaction_base& q) {
  create_postgis_now_ = false;
  const pqxx::result installed = q.exec("SELECT extversion FROM pg_extension WHERE extname = 'postgis'");
  if (installed.empty()) {
    if (!options_.create_postgis) {
      return "option \"geometry\": the database has no PostGIS extension (CREATE EXTENSION postgis; as its owner, or "
             "set option \"create_postgis\": true)";
    }
    if (q.exec("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").empty()) {
      return "option \"create_postgis\": the server has no PostGIS to create (install it on the server, e.g. "
             "Debian's postgresql-15-postgis-3)";
    }
    create_postgis_now_ = true;
    return "";
  }
  if (srid_ != 0 && q.exec_params("SELECT 1 FROM spatial_ref_sys WHERE srid = $1", srid_).empty())
    return "option \"srid\": SRID " + std::to_string(srid_) + " is not in the database's spatial_ref_sys";
  return "";
}

std::vector<std::string> PostgresSink::describe() const {
  std::string columns;
  for (std::size_t i = 0; i < names_.size(); ++i) columns += ", " + names_[i] + " " + sql_types_[i];
  if (!options_.geometry.empty())
    columns += ", " + options_.geometry + " " + geometry_type() + (options_.geometry_index ? " with a GiST index" : "");
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
    .input_kind = rasterflow::EdgeKind::table,
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::PostgresSink>,
    .operation = "write"}))
