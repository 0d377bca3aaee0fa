-- Users, OAuth identities, teams, memberships and projects.
--
-- Conventions (see the crate README): ids are 16-byte UUID blobs, timestamps are INTEGER
-- microseconds since the Unix epoch, booleans are INTEGER 0/1, JSON is TEXT. Every CHECK is named
-- after the field it guards, so a violation can be reported as `InvalidInput` naming that field.

CREATE TABLE IF NOT EXISTS users (
    id                    BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    email                 TEXT    NOT NULL
        CONSTRAINT email CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '_%@_%'),
    password_hash         TEXT
        CONSTRAINT password_hash CHECK (password_hash IS NULL OR password_hash GLOB '$argon2id$*'),
    display_name          TEXT    NOT NULL
        CONSTRAINT display_name CHECK (length(display_name) BETWEEN 1 AND 100),
    ssh_public_key        TEXT
        CONSTRAINT ssh_public_key CHECK (
            ssh_public_key IS NULL
            OR ssh_public_key GLOB 'ssh-ed25519 *'
            OR ssh_public_key GLOB 'ssh-rsa *'
            OR ssh_public_key GLOB 'ecdsa-sha2-* *'),
    notification_settings TEXT    NOT NULL DEFAULT '{}'
        CONSTRAINT notification_settings CHECK (
            json_valid(notification_settings) AND json_type(notification_settings) = 'object'),
    is_platform_admin     INTEGER NOT NULL DEFAULT 0
        CONSTRAINT is_platform_admin CHECK (is_platform_admin IN (0, 1)),
    disabled              INTEGER NOT NULL DEFAULT 0
        CONSTRAINT disabled CHECK (disabled IN (0, 1)),
    last_login_at         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

-- Emails are unique case-insensitively (they are ASCII: core validates and lowercases them).
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (lower(email));
CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at);

CREATE TABLE IF NOT EXISTS oauth_identities (
    id         BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL CONSTRAINT provider CHECK (length(provider) BETWEEN 1 AND 32),
    subject    TEXT    NOT NULL CONSTRAINT subject CHECK (length(subject) BETWEEN 1 AND 255),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;

CREATE INDEX IF NOT EXISTS oauth_identities_user_id_idx ON oauth_identities (user_id);

CREATE TABLE IF NOT EXISTS teams (
    id          BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    name        TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 100),
    -- ^[a-z0-9]+(-[a-z0-9]+)*$, 3-50 characters.
    slug        TEXT    NOT NULL UNIQUE
        CONSTRAINT slug CHECK (
            length(slug) BETWEEN 3 AND 50
            AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '-*'
            AND slug NOT GLOB '*-'
            AND slug NOT GLOB '*--*'),
    description TEXT
        CONSTRAINT description CHECK (description IS NULL OR length(description) <= 2000),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS teams_name_idx ON teams (name);

CREATE TABLE IF NOT EXISTS memberships (
    team_id    BLOB    NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CONSTRAINT role CHECK (role IN ('admin', 'developer', 'viewer')),
    joined_at  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) STRICT, WITHOUT ROWID;

-- Teams of a user (visibility of team projects and environments).
CREATE INDEX IF NOT EXISTS memberships_user_id_idx ON memberships (user_id, team_id);

-- A team always keeps at least one admin: demoting or removing its last admin is refused.
-- Deleting the team itself (which cascades to its memberships) is allowed.
CREATE TRIGGER IF NOT EXISTS memberships_keep_an_admin_on_update
BEFORE UPDATE OF role, team_id ON memberships
WHEN OLD.role = 'admin'
    AND (NEW.role <> 'admin' OR NEW.team_id IS NOT OLD.team_id)
    AND NOT EXISTS (
        SELECT 1 FROM memberships
        WHERE team_id = OLD.team_id AND role = 'admin' AND user_id <> OLD.user_id)
BEGIN
    SELECT RAISE(ABORT, 'last_admin');
END;

CREATE TRIGGER IF NOT EXISTS memberships_keep_an_admin_on_delete
BEFORE DELETE ON memberships
WHEN OLD.role = 'admin'
    AND EXISTS (SELECT 1 FROM teams WHERE id = OLD.team_id)
    AND NOT EXISTS (
        SELECT 1 FROM memberships
        WHERE team_id = OLD.team_id AND role = 'admin' AND user_id <> OLD.user_id)
BEGIN
    SELECT RAISE(ABORT, 'last_admin');
END;

CREATE TABLE IF NOT EXISTS projects (
    id            BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    name          TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 100),
    slug          TEXT    NOT NULL
        CONSTRAINT slug CHECK (
            length(slug) BETWEEN 3 AND 50
            AND slug NOT GLOB '*[^a-z0-9-]*'
            AND slug NOT GLOB '-*'
            AND slug NOT GLOB '*-'
            AND slug NOT GLOB '*--*'),
    owner_user_id BLOB    REFERENCES users (id) ON DELETE CASCADE,
    owner_team_id BLOB    REFERENCES teams (id) ON DELETE CASCADE,
    is_archived   INTEGER NOT NULL DEFAULT 0
        CONSTRAINT is_archived CHECK (is_archived IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- Exactly one owner: a user or a team.
    CONSTRAINT owner CHECK ((owner_user_id IS NULL) <> (owner_team_id IS NULL))
) STRICT;

-- Slugs are unique per owner; these also serve listing by owner.
CREATE UNIQUE INDEX IF NOT EXISTS projects_owner_user_slug_key
    ON projects (owner_user_id, slug) WHERE owner_user_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS projects_owner_team_slug_key
    ON projects (owner_team_id, slug) WHERE owner_team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS projects_owner_user_id_idx
    ON projects (owner_user_id, id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS projects_owner_team_id_idx
    ON projects (owner_team_id, id) WHERE owner_team_id IS NOT NULL;
