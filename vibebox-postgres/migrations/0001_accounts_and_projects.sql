-- Accounts and projects: users, OAuth identities, teams, memberships, projects.
--
-- Every rule of DESIGN.md §2 that SQL can hold is a constraint, so a write that bypasses the
-- store still cannot break it. Constraint and index names are part of the contract: the store
-- maps a violation to the field it names (src/error.rs).
-- Idempotent: every statement can run again on a database that already has the object.

CREATE TABLE IF NOT EXISTS users (
    id                    UUID        NOT NULL,
    email                 TEXT        NOT NULL,
    password_hash         TEXT,
    display_name          TEXT        NOT NULL,
    ssh_public_key        TEXT,
    notification_settings JSONB       NOT NULL DEFAULT '{}'::jsonb,
    is_platform_admin     BOOLEAN     NOT NULL DEFAULT FALSE,
    disabled              BOOLEAN     NOT NULL DEFAULT FALSE,
    last_login_at         TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_check
        CHECK (char_length(email) BETWEEN 3 AND 254 AND email LIKE '_%@_%'),
    CONSTRAINT users_display_name_check CHECK (char_length(display_name) BETWEEN 1 AND 100),
    CONSTRAINT users_notification_settings_check
        CHECK (jsonb_typeof(notification_settings) = 'object')
);
-- Emails are unique whatever their case.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (lower(email));
CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at);

CREATE TABLE IF NOT EXISTS oauth_identities (
    id         UUID        NOT NULL,
    user_id    UUID        NOT NULL,
    provider   TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT oauth_identities_pkey PRIMARY KEY (id),
    CONSTRAINT oauth_identities_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT oauth_identities_provider_subject_key UNIQUE (provider, subject),
    CONSTRAINT oauth_identities_provider_check CHECK (provider ~ '^[a-z0-9_-]{1,32}$'),
    CONSTRAINT oauth_identities_subject_check CHECK (char_length(subject) BETWEEN 1 AND 255)
);
CREATE INDEX IF NOT EXISTS oauth_identities_user_id_idx ON oauth_identities (user_id);

CREATE TABLE IF NOT EXISTS teams (
    id          UUID        NOT NULL,
    name        TEXT        NOT NULL,
    slug        TEXT        NOT NULL,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT teams_pkey PRIMARY KEY (id),
    CONSTRAINT teams_slug_key UNIQUE (slug),
    CONSTRAINT teams_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT teams_slug_check
        CHECK (char_length(slug) BETWEEN 3 AND 50 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT teams_description_check
        CHECK (description IS NULL OR char_length(description) <= 2000)
);
CREATE INDEX IF NOT EXISTS teams_name_idx ON teams (name);

CREATE TABLE IF NOT EXISTS memberships (
    team_id    UUID        NOT NULL,
    user_id    UUID        NOT NULL,
    role       TEXT        NOT NULL,
    joined_at  TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT memberships_pkey PRIMARY KEY (team_id, user_id),
    CONSTRAINT memberships_team_id_fkey
        FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
    CONSTRAINT memberships_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT memberships_role_check CHECK (role IN ('admin', 'developer', 'viewer'))
);
-- "Which teams is this user in" (visibility of team projects and environments).
CREATE INDEX IF NOT EXISTS memberships_user_id_idx ON memberships (user_id, team_id);

CREATE TABLE IF NOT EXISTS projects (
    id            UUID        NOT NULL,
    name          TEXT        NOT NULL,
    slug          TEXT        NOT NULL,
    owner_user_id UUID,
    owner_team_id UUID,
    is_archived   BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    CONSTRAINT projects_owner_user_id_fkey
        FOREIGN KEY (owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT projects_owner_team_id_fkey
        FOREIGN KEY (owner_team_id) REFERENCES teams (id) ON DELETE CASCADE,
    -- Exactly one owner: a user or a team.
    CONSTRAINT projects_owner_check CHECK ((owner_user_id IS NULL) <> (owner_team_id IS NULL)),
    CONSTRAINT projects_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT projects_slug_check
        CHECK (char_length(slug) BETWEEN 3 AND 50 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);
-- Slugs are unique per owner (NULL owners never collide).
CREATE UNIQUE INDEX IF NOT EXISTS projects_owner_user_slug_key ON projects (owner_user_id, slug);
CREATE UNIQUE INDEX IF NOT EXISTS projects_owner_team_slug_key ON projects (owner_team_id, slug);
-- Projects of one owner in id order.
CREATE INDEX IF NOT EXISTS projects_owner_user_id_idx ON projects (owner_user_id, id)
    WHERE owner_user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS projects_owner_team_id_idx ON projects (owner_team_id, id)
    WHERE owner_team_id IS NOT NULL;
