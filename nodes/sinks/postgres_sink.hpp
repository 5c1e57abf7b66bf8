#pragma once
// postgres_sink: writes the merged table into a PostgreSQL table with COPY, in one transaction
// that lives from open() to commit(): the table is created (or replaced, or appended to) and
// filled inside it, so a failed or interrupted run (rollback, or the server's own when the
// process dies) leaves the database as it was. Rows are formatted as COPY text in parallel;
// the serial writer streams them in tile order. One transaction cannot span MPI ranks: the sink
// refuses MPI before anything runs. With `geometry`, a PostGIS geometry(Point, SRID) column is
// filled with each row's (x, y), sent in the same COPY as hex EWKB. libpqxx stays inside
// postgres_sink.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/table_sink.hpp"

namespace pqxx {
class transaction_base;
}

namespace rasterflow::nodes {

struct PostgresSinkOptions {
  std::string url;
  std::string table;
  std::string if_exists;
  std::string geometry;              // PostGIS point column's name; empty: none
  std::optional<std::int64_t> srid;  // default: the grid CRS's EPSG code
  bool create_postgis = false;       // CREATE EXTENSION IF NOT EXISTS postgis in the transaction
  bool geometry_index = false;       // a GiST index on the geometry, built before the commit
  void declare(OptionBinder& args);
};

class PostgresSink final : public TableSink {
 public:
  explicit PostgresSink(NodeSpec spec);
  ~PostgresSink() override;
  void check_ranks(int ranks) const override;
  // One writer per table: a session advisory lock (pg_try_advisory_lock on a hash of
  // schema.table) on a connection of its own, held until the sink goes; the server releases it
  // when the process dies. Throws OutputBusy naming the table and the holder.
  void claim_output() override;
  std::vector<std::string> describe() const override;
  // A row's COPY text, and its point's 50 hex digits of EWKB with a geometry.
  ResourceNeeds resources() const override { return {.bytes_per_cell = options_.geometry.empty() ? 48.0 : 100.0}; }

 private:
  PostgresSink(PostgresSinkOptions options, NodeSpec&& spec);
  // Before anything runs: the columns and coordinates, the server answers, and the table is as
  // if_exists needs it.
  void prepare_table(const RunContext& ctx, const TableProducer& table) override;
  PayloadPtr format(const TileRequest& tile, const Table& table) const override;
  // The transaction: the table created (or replaced), the COPY started.
  void begin() override;
  void emit(const TileRequest& tile, const Payload& data) override;
  // The COPY completed, the index built, the transaction committed.
  void finish() override;
  // Rolls the transaction back.
  void discard() noexcept override;
  void prepare_coordinates(const Grid& grid);
  void connect();
  // "" when the table is as if_exists needs it, else the refusal's text.
  std::string check_table(pqxx::transaction_base& query);
  // if_exists append: "" when the table has the columns to append to, else the refusal's text.
  std::string check_append(pqxx::transaction_base& query);
  // The text of an error with any password in it masked.
  std::string masked(const std::string& text) const;
  // With a geometry: its SRID, the EWKB text of every column's x and row's y.
  void prepare_geometry(const Grid& grid);
  // "" when the database can take the geometry column, else the refusal's text (after "node: ").
  std::string check_postgis(pqxx::transaction_base& query);
  // geometry(Point,SRID) as PostgreSQL's format_type() writes it.
  std::string geometry_type() const;

  struct Session;  // the libpqxx connection, transaction and COPY stream
  PostgresSinkOptions options_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Session> lock_;         // the connection holding the advisory lock (claim_output)
  std::vector<ColumnMetadata> metadata_;  // units per column, from the table
  std::vector<std::string> names_;
  std::vector<std::string> sql_types_;
  std::vector<std::string> x_text_;  // every grid column's centre, as the CSV writes it
  std::vector<std::string> y_text_;  // every grid row's
  // With a geometry: the hex EWKB of a point's prefix (byte order, type, SRID), and of every
  // grid column's x and row's y as the doubles PostgreSQL reads from x_text_ and y_text_, so
  // that ST_X(geometry) = x and ST_Y(geometry) = y exactly.
  std::string ewkb_prefix_;
  std::vector<std::string> x_ewkb_;
  std::vector<std::string> y_ewkb_;
  std::int64_t srid_ = 0;
  bool create_postgis_now_ = false;  // the extension is missing and create_postgis asked for it
  bool table_exists_ = false;
};

}  // namespace rasterflow::nodes
