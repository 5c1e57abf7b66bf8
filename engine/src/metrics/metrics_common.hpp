#pragma once
// Shared by the metrics backends: the statements (same text for both) and time formatting.
#include <string>

#include "rasterflow/metrics.hpp"

namespace rasterflow::detail {

// $6: the experiment a resumed run continues ("-1": none; an id not in this database links nothing).
inline const char* const kCreateExperimentSql =
    "INSERT INTO experiments (id, name, status, graph_json, config_json, host, started_at, resumed_from) "
    "VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM experiments), $1, 'running', $2, $3, $4, $5, "
    "(SELECT id FROM experiments WHERE id = CAST($6 AS BIGINT))) RETURNING id";
// A run killed without a word (SIGKILL, a node lost) stays 'running' until a resumed run says so.
inline const char* const kMarkResumedSql =
    "UPDATE experiments SET status = 'interrupted', error = $2 WHERE id = CAST($1 AS BIGINT) AND status = 'running'";
inline const char* const kAddResumedFromPostgresSql =
    "ALTER TABLE experiments ADD COLUMN IF NOT EXISTS resumed_from BIGINT REFERENCES experiments (id)";
inline const char* const kAddResumedFromSqliteSql =
    "ALTER TABLE experiments ADD COLUMN resumed_from BIGINT REFERENCES experiments (id)";
inline std::string resumed_text(const ExperimentInfo& info) {
  return info.resumed_from ? std::to_string(*info.resumed_from) : "-1";
}
inline const char* const kInsertMetricSql =
    "INSERT INTO pipeline_metrics (id, experiment_id, metric_type, metric_name, metric_value, metadata, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
inline const char* const kFinishExperimentSql =
    "UPDATE experiments SET status = $1, error = $2, finished_at = $3 WHERE id = $4";

// "2026-11-23 22:47:04.123456" in UTC: a timestamp both backends read.
std::string timestamp_text(Clock::time_point at);
inline std::int64_t row_id(std::int64_t experiment, std::int64_t row) { return (experiment << 32) + row; }

}  // namespace rasterflow::detail
