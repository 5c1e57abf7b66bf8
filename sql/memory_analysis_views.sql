-- Views that answer "which stage ate the memory, and when did the engine throttle?".
-- Same text on PostgreSQL and SQLite (DROP + CREATE: neither has CREATE OR REPLACE for both).

DROP VIEW IF EXISTS v_memory_by_stage;
CREATE VIEW v_memory_by_stage AS
SELECT experiment_id,
       metadata->>'stage'  AS stage,
       COUNT(*)            AS samples,
       AVG(metric_value)   AS avg_rss_gb,
       MAX(metric_value)   AS peak_rss_gb,
       MIN(created_at)     AS first_seen,
       MAX(created_at)     AS last_seen
FROM pipeline_metrics
WHERE metric_type = 'memory' AND metric_name = 'process_rss_gb'
GROUP BY experiment_id, metadata->>'stage';

DROP VIEW IF EXISTS v_memory_timeline;
CREATE VIEW v_memory_timeline AS
SELECT experiment_id,
       created_at,
       metric_value                                       AS process_rss_gb,
       CAST(metadata->>'system_percent' AS DOUBLE PRECISION)       AS system_percent,
       CAST(metadata->>'system_available_gb' AS DOUBLE PRECISION)  AS system_available_gb,
       CAST(metadata->>'limit_gb' AS DOUBLE PRECISION)             AS limit_gb,
       metadata->>'level'                                 AS level,
       metadata->>'stage'                                 AS stage,
       metadata->>'operation'                             AS operation,
       CAST(metadata->>'window_size' AS INTEGER)          AS window_size,
       CAST(metadata->>'chunk_size' AS INTEGER)           AS chunk_size,
       CAST(metadata->>'tiles_in_flight' AS INTEGER)      AS tiles_in_flight
FROM pipeline_metrics
WHERE metric_type = 'memory' AND metric_name = 'process_rss_gb';

DROP VIEW IF EXISTS v_throttle_events;
CREATE VIEW v_throttle_events AS
SELECT experiment_id,
       created_at,
       metric_name                                        AS setting,
       metric_value                                       AS new_value,
       CAST(metadata->>'previous' AS DOUBLE PRECISION)    AS previous_value,
       metadata->>'level'                                 AS level,
       metadata->>'reason'                                AS reason
FROM pipeline_metrics
WHERE metric_type = 'throttle';

DROP VIEW IF EXISTS v_stage_summary;
CREATE VIEW v_stage_summary AS
SELECT experiment_id,
       metadata->>'stage'                                                   AS stage,
       MAX(metadata->>'type')                                               AS node_type,
       MAX(CASE WHEN metric_name = 'memory_peak_gb' THEN metric_value END)  AS memory_peak_gb,
       MAX(CASE WHEN metric_name = 'memory_avg_gb' THEN metric_value END)   AS memory_avg_gb,
       SUM(CASE WHEN metric_name = 'items' THEN metric_value END)           AS items,
       SUM(CASE WHEN metric_name = 'cells' THEN metric_value END)           AS cells,
       SUM(CASE WHEN metric_name = 'bytes' THEN metric_value END)           AS bytes,
       SUM(CASE WHEN metric_name = 'busy_seconds' THEN metric_value END)    AS busy_seconds
FROM pipeline_metrics
WHERE metric_type = 'stage'
GROUP BY experiment_id, metadata->>'stage';

-- MPI runs: every row carries its rank (metadata->>'rank'; none in a single-process run).
DROP VIEW IF EXISTS v_stage_by_rank;
CREATE VIEW v_stage_by_rank AS
SELECT experiment_id,
       CAST(metadata->>'rank' AS INTEGER)                                   AS rank,
       metadata->>'stage'                                                   AS stage,
       MAX(CASE WHEN metric_name = 'memory_peak_gb' THEN metric_value END)  AS memory_peak_gb,
       SUM(CASE WHEN metric_name = 'items' THEN metric_value END)           AS items,
       SUM(CASE WHEN metric_name = 'cells' THEN metric_value END)           AS cells,
       SUM(CASE WHEN metric_name = 'busy_seconds' THEN metric_value END)    AS busy_seconds
FROM pipeline_metrics
WHERE metric_type = 'stage' AND metadata->>'rank' IS NOT NULL
GROUP BY experiment_id, CAST(metadata->>'rank' AS INTEGER), metadata->>'stage';
