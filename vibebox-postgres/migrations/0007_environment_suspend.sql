-- Suspend and resume (issue 18): `environments.status` also takes 'suspended' (the container's
-- processes are frozen, their memory kept) and 'resuming' (being thawed).
--
-- 0002 named the CHECK `environments_status_check` (also what PostgreSQL would have named it).
-- It is replaced in the migration's transaction, so no moment allows more or less than one of
-- the two lists. Idempotent: the drop skips an absent constraint, and the add puts back the
-- same one.

ALTER TABLE environments DROP CONSTRAINT IF EXISTS environments_status_check;

ALTER TABLE environments ADD CONSTRAINT environments_status_check
    CHECK (status IN (
        'stopped', 'starting', 'running', 'stopping', 'error', 'suspended', 'resuming'));
