-- rasterflow metrics schema. Runs unchanged on PostgreSQL (metadata as JSONB) and SQLite
-- (metadata as JSON text; SQLite >= 3.38 for ->>). Idempotent: safe to apply on every run.
-- Ids are assigned by rasterflow (experiments: the next free id in the same INSERT;
-- pipeline_metrics: experiment id * 2^32 + row number), so no backend-specific serial type
-- is needed.

CREATE TABLE IF NOT EXISTS experiments (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,            -- running | succeeded | failed | interrupted
    graph_json  TEXT,
    config_json TEXT,                     -- passwords masked
    host        TEXT,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    error       TEXT,
    resumed_from BIGINT REFERENCES experiments (id)  -- the interrupted run a --resume continued
);
-- Databases made before resumed_from existed get the column from rasterflow itself (ALTER TABLE
-- ... ADD COLUMN IF NOT EXISTS on PostgreSQL; SQLite, which lacks IF NOT EXISTS there, after
-- asking pragma_table_info).

CREATE TABLE IF NOT EXISTS pipeline_metrics (
    id            BIGINT PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (id),
    metric_type   TEXT NOT NULL,          -- memory | throttle | stage
    metric_name   TEXT NOT NULL,
    metric_value  DOUBLE PRECISION,
    metadata      JSONB,
    created_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS pipeline_metrics_experiment
    ON pipeline_metrics (experiment_id, metric_type, created_at);
