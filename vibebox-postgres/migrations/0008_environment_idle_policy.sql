-- The idle policy (issue 18): an environment is suspended after `idle_suspend_after_minutes`
-- without activity and stopped after `idle_stop_after_hours` suspended; NULL means never.
-- Existing environments get the defaults (15 minutes, 24 hours). Idempotent: `IF NOT EXISTS`
-- skips a column that is there (with its CHECK).

ALTER TABLE environments ADD COLUMN IF NOT EXISTS idle_suspend_after_minutes INTEGER DEFAULT 15
    CONSTRAINT environments_idle_suspend_check
    CHECK (idle_suspend_after_minutes IS NULL OR idle_suspend_after_minutes BETWEEN 1 AND 10080);

ALTER TABLE environments ADD COLUMN IF NOT EXISTS idle_stop_after_hours INTEGER DEFAULT 24
    CONSTRAINT environments_idle_stop_check
    CHECK (idle_stop_after_hours IS NULL OR idle_stop_after_hours BETWEEN 1 AND 8760);
