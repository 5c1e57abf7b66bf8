// The only file that includes libpqxx.
#include <pqxx/pqxx>

#include "metrics/metrics_common.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow {
namespace {

class PostgresMetrics final : public MetricsBackend {
 public:
  explicit PostgresMetrics(const std::string& url)
      : description_(url.empty() ? "postgresql (PG* environment)" : mask_password(url)) {
    try {
      conn_ = std::make_unique<pqxx::connection>(url);
      pqxx::nontransaction quiet(*conn_);
      quiet.exec("SET client_min_messages TO warning");
    } catch (const std::exception& e) {
      throw IoError("PostgreSQL " + description_ + ": " + mask_password(e.what()));
    }
  }

  std::string describe() const override { return description_; }

  void apply_schema() override {
    pqxx::work w(*conn_);
    w.exec(schema_sql());
    w.exec(detail::kAddResumedFromPostgresSql);
    w.exec(views_sql());
    w.commit();
  }

  std::int64_t create_experiment(const ExperimentInfo& info) override {
    // The next id is taken in the INSERT itself; a concurrent run may take it first.
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work w(*conn_);
        const pqxx::result r =
            w.exec_params(detail::kCreateExperimentSql, info.name, info.graph_json, info.config_json, info.host,
                          detail::timestamp_text(info.started_at), detail::resumed_text(info));
        const auto id = r[0][0].as<std::int64_t>();
        if (info.resumed_from) {
          w.exec_params(detail::kMarkResumedSql, detail::resumed_text(info),
                        "stopped without a word (killed?); resumed by experiment " + std::to_string(id));
        }
        w.commit();
        return id;
      } catch (const pqxx::unique_violation&) {
        if (attempt >= 10) throw;
      }
    }
  }

  void insert(std::int64_t experiment, std::span<const MetricRow> rows, std::int64_t first_row) override {
    pqxx::work w(*conn_);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const MetricRow& r = rows[i];
      w.exec_params(detail::kInsertMetricSql, detail::row_id(experiment, first_row + static_cast<std::int64_t>(i)),
                    experiment, r.type, r.name, r.value, r.metadata_json, detail::timestamp_text(r.at));
    }
    w.commit();
  }

  void finish_experiment(std::int64_t experiment, const std::string& status, const std::string& error,
                         Clock::time_point at) override {
    pqxx::work w(*conn_);
    w.exec_params(detail::kFinishExperimentSql, status, error, detail::timestamp_text(at), experiment);
    w.commit();
  }

  QueryResult query(const std::string& sql, const std::vector<std::string>& params) override {
    pqxx::work w(*conn_);
    const pqxx::result r = w.exec_params(sql, pqxx::prepare::make_dynamic_params(params.begin(), params.end()));
    QueryResult out;
    for (pqxx::row::size_type c = 0; c < r.columns(); ++c) out.columns.emplace_back(r.column_name(c));
    for (const auto& row : r) {
      std::vector<std::optional<std::string>> values;
      for (const auto& field : row)
        values.push_back(field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
      out.rows.push_back(std::move(values));
    }
    return out;
  }

 private:
  std::string description_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace

std::unique_ptr<MetricsBackend> open_postgresql_metrics(const std::string& url) {
  return std::make_unique<PostgresMetrics>(url);
}

}  // namespace rasterflow
