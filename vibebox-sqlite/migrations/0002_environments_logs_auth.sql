-- Environments with their ports, variables, sessions and extensions; logs; API keys, refresh
-- sessions and the audit log. Same conventions as 0001.

CREATE TABLE IF NOT EXISTS environments (
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
        CONSTRAINT status CHECK (status IN ('stopped', 'starting', 'running', 'stopping', 'error')),
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

CREATE INDEX IF NOT EXISTS environments_project_id_idx ON environments (project_id, id);
CREATE INDEX IF NOT EXISTS environments_creator_id_idx ON environments (creator_id, status);
CREATE INDEX IF NOT EXISTS environments_status_idx ON environments (status);
CREATE INDEX IF NOT EXISTS environments_container_id_idx
    ON environments (container_id) WHERE container_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS environment_ports (
    id              BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    environment_id  BLOB    NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    container_port  INTEGER NOT NULL
        CONSTRAINT container_port CHECK (container_port BETWEEN 1 AND 65535),
    -- NULL: the engine picks a port at start.
    host_port       INTEGER
        CONSTRAINT host_port CHECK (host_port IS NULL OR host_port BETWEEN 1024 AND 65535),
    bound_host_port INTEGER
        CONSTRAINT bound_host_port CHECK (bound_host_port IS NULL OR bound_host_port BETWEEN 1 AND 65535),
    protocol        TEXT    NOT NULL CONSTRAINT protocol CHECK (protocol IN ('tcp', 'udp')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (environment_id, container_port, protocol)
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS environment_ports_host_port_key
    ON environment_ports (host_port) WHERE host_port IS NOT NULL;

CREATE TABLE IF NOT EXISTS environment_variables (
    id             BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    environment_id BLOB    NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- ^[A-Z_][A-Z0-9_]*$, at most 128 characters.
    key            TEXT    NOT NULL
        CONSTRAINT key CHECK (
            length(key) BETWEEN 1 AND 128
            AND key NOT GLOB '*[^A-Z0-9_]*'
            AND substr(key, 1, 1) NOT GLOB '[0-9]'),
    value          TEXT    NOT NULL,
    is_encrypted   INTEGER NOT NULL
        -- Keys that look like secrets are always encrypted.
        CONSTRAINT is_encrypted CHECK (
            is_encrypted IN (0, 1)
            AND (is_encrypted = 1 OR (
                instr(key, 'API_KEY') = 0 AND instr(key, 'SECRET') = 0
                AND instr(key, 'PASSWORD') = 0 AND instr(key, 'TOKEN') = 0
                AND instr(key, 'PRIVATE_KEY') = 0))),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (environment_id, key)
) STRICT;

-- Key rotation walks encrypted variables by id.
CREATE INDEX IF NOT EXISTS environment_variables_encrypted_idx
    ON environment_variables (id) WHERE is_encrypted = 1;

CREATE TABLE IF NOT EXISTS sessions (
    id                   BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    environment_id       BLOB    NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    session_type         TEXT    NOT NULL
        CONSTRAINT session_type CHECK (session_type IN ('vscode_server', 'tmux', 'shell')),
    session_name         TEXT    NOT NULL
        CONSTRAINT session_name CHECK (
            length(session_name) BETWEEN 1 AND 64
            AND session_name NOT GLOB '*[^A-Za-z0-9_-]*'),
    status               TEXT    NOT NULL
        CONSTRAINT status CHECK (status IN ('starting', 'active', 'idle', 'terminated')),
    pid                  INTEGER,
    idle_timeout_minutes INTEGER NOT NULL
        CONSTRAINT idle_timeout_minutes CHECK (idle_timeout_minutes > 0),
    last_activity_at     INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

-- (environment, type, name) is unique among live sessions.
CREATE UNIQUE INDEX IF NOT EXISTS sessions_live_name_key
    ON sessions (environment_id, session_type, session_name) WHERE status <> 'terminated';
CREATE INDEX IF NOT EXISTS sessions_environment_id_idx ON sessions (environment_id, id);
CREATE INDEX IF NOT EXISTS sessions_status_activity_idx
    ON sessions (status, last_activity_at, id);
CREATE INDEX IF NOT EXISTS sessions_terminated_idx
    ON sessions (updated_at) WHERE status = 'terminated';

CREATE TABLE IF NOT EXISTS extensions (
    id           BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    -- publisher.name
    extension_id TEXT    NOT NULL UNIQUE
        CONSTRAINT extension_id CHECK (
            extension_id GLOB '[A-Za-z0-9]*.[A-Za-z0-9]*'
            AND length(extension_id) <= 257),
    name         TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 200),
    version      TEXT    NOT NULL
        CONSTRAINT version CHECK (version GLOB '[0-9]*.[0-9]*.[0-9]*'),
    publisher    TEXT    NOT NULL CONSTRAINT publisher CHECK (length(publisher) BETWEEN 1 AND 128),
    is_custom    INTEGER NOT NULL CONSTRAINT is_custom CHECK (is_custom IN (0, 1)),
    -- Only custom extensions are downloaded from a URL.
    download_url TEXT
        CONSTRAINT download_url CHECK (
            download_url IS NULL
            OR (is_custom = 1 AND (download_url GLOB 'https://?*' OR download_url GLOB 'http://?*'))),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS environment_extensions (
    id             BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    environment_id BLOB    NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    extension_id   BLOB    NOT NULL REFERENCES extensions (id) ON DELETE RESTRICT,
    status         TEXT    NOT NULL
        CONSTRAINT status CHECK (status IN
            ('pending', 'installing', 'installed', 'failed', 'uninstalling', 'removed')),
    error_message  TEXT,
    installed_at   INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (environment_id, extension_id)
) STRICT;

CREATE INDEX IF NOT EXISTS environment_extensions_extension_id_idx
    ON environment_extensions (extension_id);
CREATE INDEX IF NOT EXISTS environment_extensions_status_idx
    ON environment_extensions (status, id);

CREATE TABLE IF NOT EXISTS logs (
    -- Assigned in append order and never reused.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BLOB    NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    timestamp      INTEGER NOT NULL,
    stream         TEXT    NOT NULL CONSTRAINT stream CHECK (stream IN ('stdout', 'stderr')),
    message        TEXT    NOT NULL,
    -- The UTF-8 length of `message`, so size retention never measures text.
    bytes          INTEGER NOT NULL
        CONSTRAINT bytes CHECK (bytes >= 0 AND bytes = length(CAST(message AS BLOB)))
) STRICT;

-- Queries of one environment in (timestamp, id) order, either way; `bytes` makes the size
-- retention's window sum an index-only scan.
CREATE INDEX IF NOT EXISTS logs_environment_timestamp_idx
    ON logs (environment_id, timestamp DESC, id DESC, bytes);
-- Age retention.
CREATE INDEX IF NOT EXISTS logs_timestamp_idx ON logs (timestamp);

CREATE TABLE IF NOT EXISTS api_keys (
    id           BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 100),
    prefix       TEXT    NOT NULL UNIQUE CONSTRAINT prefix CHECK (length(prefix) BETWEEN 1 AND 64),
    -- SHA-256 of the secret; never the secret.
    secret_hash  BLOB    NOT NULL UNIQUE
        CONSTRAINT secret_hash CHECK (length(secret_hash) = 32),
    scopes       TEXT    NOT NULL
        CONSTRAINT scopes CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS api_keys_user_id_idx ON api_keys (user_id, id);

CREATE TABLE IF NOT EXISTS refresh_sessions (
    id         BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  BLOB    NOT NULL CONSTRAINT family_id CHECK (length(family_id) = 16),
    -- SHA-256 of the token; never the token.
    token_hash BLOB    NOT NULL UNIQUE CONSTRAINT token_hash CHECK (length(token_hash) = 32),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER,
    user_agent TEXT,
    ip         TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS refresh_sessions_family_id_idx ON refresh_sessions (family_id);
CREATE INDEX IF NOT EXISTS refresh_sessions_user_id_idx ON refresh_sessions (user_id, id);

-- Append-only, and outlives what it describes: no foreign keys.
CREATE TABLE IF NOT EXISTS audit_events (
    id            BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    actor_type    TEXT    NOT NULL
        CONSTRAINT actor_type CHECK (actor_type IN ('user', 'api_key', 'system', 'anonymous')),
    actor_user_id BLOB,
    actor_key_id  BLOB,
    action        TEXT    NOT NULL CONSTRAINT action CHECK (length(action) >= 1),
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    team_id       BLOB,
    details       TEXT    NOT NULL CONSTRAINT details CHECK (json_valid(details)),
    ip            TEXT,
    at            INTEGER NOT NULL,
    -- Users (directly or through a key) carry their id; keys also carry the key's id.
    CONSTRAINT actor CHECK (
        (actor_user_id IS NOT NULL) = (actor_type IN ('user', 'api_key'))
        AND (actor_key_id IS NOT NULL) = (actor_type = 'api_key'))
) STRICT;

CREATE INDEX IF NOT EXISTS audit_events_team_id_idx ON audit_events (team_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_events_actor_user_id_idx
    ON audit_events (actor_user_id, id DESC);
