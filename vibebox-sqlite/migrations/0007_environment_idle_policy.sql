-- The idle policy (issue 18): an environment is suspended after `idle_suspend_after_minutes`
-- without activity and stopped after `idle_stop_after_hours` suspended; NULL means never.
-- Existing environments get the defaults (15 minutes, 24 hours). Same conventions as 0001.
--
-- `ADD COLUMN` keeps the table (no rebuild): SQLite allows a constant default and a CHECK on
-- an added column, and checks the existing rows against it (they hold the default).
-- once: unlike the other migrations it cannot run twice (SQLite has no `ADD COLUMN IF NOT
-- EXISTS`); a second run fails on the first statement and changes nothing, and sqlx runs it
-- once.

ALTER TABLE environments ADD COLUMN idle_suspend_after_minutes INTEGER DEFAULT 15
    CHECK (idle_suspend_after_minutes IS NULL OR idle_suspend_after_minutes BETWEEN 1 AND 10080);

ALTER TABLE environments ADD COLUMN idle_stop_after_hours INTEGER DEFAULT 24
    CHECK (idle_stop_after_hours IS NULL OR idle_stop_after_hours BETWEEN 1 AND 8760);
