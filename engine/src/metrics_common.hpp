#pragma once
// Shared by the metrics backends: the statements (same text for both) and time formatting.
#include <string>

#include "rasterflow/metrics.hpp"

namespace rasterflow::detail {

inline const char* const kCreateExperimentSql =
    "INSERT INTO experiments (id, name, status, graph_json, config_json, host, started_at) "
    "VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM experiments), $1, 'running', $2, $3, $4, $5) RETURNING id";
inline const char* const kInsertMetricSql =
    "INSERT INTO pipeline_metrics (id, experiment_id, metric_type, metric_name, metric_value, metadata, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
inline const char* const kFinishExperimentSql =
    "UPDATE experiments SET status = $1, error = $2, finished_at = $3 WHERE id = $4";

// "2026-11-23 22:47:04.123456" in UTC: a timestamp both backends read.
std::string timestamp_text(Clock::time_point at);
inline std::int64_t row_id(std::int64_t experiment, std::int64_t row) { return (experiment << 32) + row; }

}  // namespace rasterflow::detail
