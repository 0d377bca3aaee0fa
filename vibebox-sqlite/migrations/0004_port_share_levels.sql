-- Port share levels (`ShareLevel` in vibebox-core): who may open a port's preview URL, and an
-- index for the preview proxy's lookup by project and environment slug. Same conventions as
-- 0001.
--
-- A table of its own, one row per port whose level was set, rather than a column of
-- `environment_ports`: SQLite has no `ADD COLUMN IF NOT EXISTS`, and every migration here can
-- run again (as 0003 did for health). A port without a row is private, so existing ports
-- become private. The store writes the row, and the port's `updated_at`, in one transaction.

CREATE TABLE IF NOT EXISTS environment_port_shares (
    port_id     BLOB NOT NULL PRIMARY KEY
        REFERENCES environment_ports (id) ON DELETE CASCADE,
    share_level TEXT NOT NULL DEFAULT 'private'
        CONSTRAINT share_level CHECK (share_level IN ('private', 'team', 'authenticated', 'public'))
) STRICT, WITHOUT ROWID;

-- Preview host names name a project by slug alone (slugs are unique per owner only); the
-- environment slug is then found through environments' UNIQUE (project_id, slug).
CREATE INDEX IF NOT EXISTS projects_slug_idx ON projects (slug);
