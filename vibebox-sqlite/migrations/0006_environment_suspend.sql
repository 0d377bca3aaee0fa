-- no-transaction
-- Suspend and resume (issue 18): `environments.status` also takes 'suspended' (the container's
-- processes are frozen, their memory kept) and 'resuming' (being thawed). Same conventions as
-- 0001.
--
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt the documented way
-- (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
-- with foreign keys off, create the new table, copy the rows, drop the old table, rename the
-- new one, recreate its indexes, check the foreign keys, commit, and turn foreign keys back on.
-- The child tables (ports, variables, sessions, extensions, logs, health) reference
-- `environments (id)` by name, so their foreign keys hold the rebuilt table; its rows keep their
-- ids. No trigger or view refers to `environments`.
--
-- `PRAGMA foreign_keys` does nothing inside a transaction, hence `no-transaction` above (sqlx
-- then runs this file as it is, on the migrating connection) and the explicit BEGIN … COMMIT.
-- Like every migration here, it can run again: a second run rebuilds the table once more.
--
-- The definition is 0002's (no later migration alters `environments`) with the new CHECK.

PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

DROP TABLE IF EXISTS environments_rebuilt;

CREATE TABLE environments_rebuilt (
    id                BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    project_id        BLOB    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 100),
    slug              TEXT    NOT NULL
        CONSTRAINT slug CHECK (
            length(slug) BETWEEN 3 AND 50
            AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '-*'
            AND slug NOT GLOB '*-'
            AND slug NOT GLOB '*--*'),
    -- Users are never deleted; an environment must not outlive its creator silently.
    creator_id        BLOB    NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    base_image        TEXT    NOT NULL
        CONSTRAINT base_image CHECK (length(base_image) BETWEEN 1 AND 512),
    container_id      TEXT,
    status            TEXT    NOT NULL
        CONSTRAINT status CHECK (status IN (
            'stopped', 'starting', 'running', 'stopping', 'error', 'suspended', 'resuming')),
    cpu_limit         REAL    NOT NULL CONSTRAINT cpu_limit CHECK (cpu_limit > 0),
    memory_limit      INTEGER NOT NULL CONSTRAINT memory_limit CHECK (memory_limit >= 64),
    storage_limit     INTEGER NOT NULL CONSTRAINT storage_limit CHECK (storage_limit > 0),
    error_message     TEXT,
    version           INTEGER NOT NULL CONSTRAINT version CHECK (version >= 0),
    status_changed_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (project_id, slug)
) STRICT;

INSERT INTO environments_rebuilt (
    id, project_id, name, slug, creator_id, base_image, container_id, status, cpu_limit,
    memory_limit, storage_limit, error_message, version, status_changed_at, created_at,
    updated_at)
SELECT
    id, project_id, name, slug, creator_id, base_image, container_id, status, cpu_limit,
    memory_limit, storage_limit, error_message, version, status_changed_at, created_at,
    updated_at
FROM environments;

DROP TABLE environments;

ALTER TABLE environments_rebuilt RENAME TO environments;

CREATE INDEX IF NOT EXISTS environments_project_id_idx ON environments (project_id, id);
CREATE INDEX IF NOT EXISTS environments_creator_id_idx ON environments (creator_id, status);
CREATE INDEX IF NOT EXISTS environments_status_idx ON environments (status);
CREATE INDEX IF NOT EXISTS environments_container_id_idx
    ON environments (container_id) WHERE container_id IS NOT NULL;

-- The rebuild must leave every foreign key satisfied: a violation fails this insert (its CHECK)
-- and with it the migration, before the commit.
CREATE TEMP TABLE IF NOT EXISTS environments_rebuild_check (
    violations INTEGER NOT NULL CHECK (violations = 0)
);
INSERT INTO environments_rebuild_check (violations)
    SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE environments_rebuild_check;

COMMIT;

PRAGMA foreign_keys = ON;
