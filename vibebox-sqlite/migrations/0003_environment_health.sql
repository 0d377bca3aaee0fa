-- Environment health (`EnvironmentHealth` in vibebox-core): kills by the OOM killer and the
-- warnings that say a running environment is not well. Same conventions as 0001.
--
-- A table of its own, one row per environment, rather than columns of `environments`: SQLite
-- has no `ADD COLUMN IF NOT EXISTS`, and every migration here can run again. An environment
-- without a row has no recorded health (no kills, no warnings); the store writes the row on the
-- first kill or warning. Health is observed, not desired state, so writing it never touches the
-- environment's row, version or updated_at.

CREATE TABLE IF NOT EXISTS environment_health (
    environment_id   BLOB    NOT NULL PRIMARY KEY
        REFERENCES environments (id) ON DELETE CASCADE,
    oom_kills        INTEGER NOT NULL DEFAULT 0 CONSTRAINT oom_kills CHECK (oom_kills >= 0),
    last_oom_kill_at INTEGER,
    -- A JSON array of {code, message, since}, in the order the service set them.
    health_warnings  TEXT    NOT NULL DEFAULT '[]'
        CONSTRAINT health_warnings CHECK (
            json_valid(health_warnings) AND json_type(health_warnings) = 'array')
) STRICT, WITHOUT ROWID;
