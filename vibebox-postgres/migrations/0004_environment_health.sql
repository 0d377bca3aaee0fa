-- Environment health (`EnvironmentHealth` in vibebox-core): kills by the OOM killer and the
-- warnings that say a running environment is not well. Health is observed, not desired state:
-- the store writes these columns with their own statements, never in the compare-and-set of
-- update_environment, and writing them changes neither `version` nor `updated_at`.
--
-- Idempotent: `ADD COLUMN IF NOT EXISTS` skips a column (and its constraint) that is there.

ALTER TABLE environments
    ADD COLUMN IF NOT EXISTS oom_kills BIGINT NOT NULL DEFAULT 0
        CONSTRAINT environments_oom_kills_check CHECK (oom_kills >= 0),
    ADD COLUMN IF NOT EXISTS last_oom_kill_at TIMESTAMPTZ,
    -- A JSON array of {code, message, since}, in the order the service set them.
    ADD COLUMN IF NOT EXISTS health_warnings JSONB NOT NULL DEFAULT '[]'::jsonb
        CONSTRAINT environments_health_warnings_check
            CHECK (jsonb_typeof(health_warnings) = 'array');
