-- Port share levels (`ShareLevel` in vibebox-core): who may open a port's preview URL.
-- Existing ports become private. And an index for the preview proxy's lookup by project and
-- environment slug.
--
-- Idempotent: `ADD COLUMN IF NOT EXISTS` skips a column (and its constraint) that is there.

ALTER TABLE environment_ports
    ADD COLUMN IF NOT EXISTS share_level TEXT NOT NULL DEFAULT 'private'
        CONSTRAINT environment_ports_share_level_check
            CHECK (share_level IN ('private', 'team', 'authenticated', 'public'));

-- Preview host names name a project by slug alone (slugs are unique per owner only); the
-- environment slug is then found through environments_project_slug_key (project_id, slug).
CREATE INDEX IF NOT EXISTS projects_slug_idx ON projects (slug);
