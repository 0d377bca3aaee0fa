-- Environments with their ports, variables, sessions and extensions; logs; API keys and
-- refresh sessions; the audit log. Idempotent, like 0001.

CREATE TABLE IF NOT EXISTS environments (
    id                UUID             NOT NULL,
    project_id        UUID             NOT NULL,
    name              TEXT             NOT NULL,
    slug              TEXT             NOT NULL,
    creator_id        UUID             NOT NULL,
    base_image        TEXT             NOT NULL,
    container_id      TEXT,
    status            TEXT             NOT NULL,
    cpu_limit         DOUBLE PRECISION NOT NULL DEFAULT 2.0,
    memory_limit      BIGINT           NOT NULL DEFAULT 4096,
    storage_limit     BIGINT           NOT NULL DEFAULT 20480,
    error_message     TEXT,
    version           BIGINT           NOT NULL DEFAULT 0,
    status_changed_at TIMESTAMPTZ      NOT NULL,
    created_at        TIMESTAMPTZ      NOT NULL,
    updated_at        TIMESTAMPTZ      NOT NULL,
    CONSTRAINT environments_pkey PRIMARY KEY (id),
    CONSTRAINT environments_project_id_fkey
        FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE,
    -- Users are never deleted; NO ACTION lets a cascade from the user's own projects pass.
    CONSTRAINT environments_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES users (id),
    CONSTRAINT environments_project_slug_key UNIQUE (project_id, slug),
    CONSTRAINT environments_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT environments_slug_check
        CHECK (char_length(slug) BETWEEN 3 AND 50 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT environments_base_image_check CHECK (char_length(base_image) BETWEEN 1 AND 512),
    CONSTRAINT environments_status_check
        CHECK (status IN ('stopped', 'starting', 'running', 'stopping', 'error')),
    CONSTRAINT environments_cpu_limit_check CHECK (cpu_limit > 0),
    CONSTRAINT environments_memory_limit_check CHECK (memory_limit >= 64),
    CONSTRAINT environments_storage_limit_check CHECK (storage_limit > 0),
    CONSTRAINT environments_version_check CHECK (version >= 0)
);
CREATE INDEX IF NOT EXISTS environments_project_id_idx ON environments (project_id, id);
CREATE INDEX IF NOT EXISTS environments_creator_id_idx ON environments (creator_id, status);
CREATE INDEX IF NOT EXISTS environments_status_idx ON environments (status);
CREATE INDEX IF NOT EXISTS environments_container_id_idx ON environments (container_id)
    WHERE container_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS environment_ports (
    id              UUID        NOT NULL,
    environment_id  UUID        NOT NULL,
    container_port  INTEGER     NOT NULL,
    host_port       INTEGER,
    bound_host_port INTEGER,
    protocol        TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT environment_ports_pkey PRIMARY KEY (id),
    CONSTRAINT environment_ports_environment_id_fkey
        FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE CASCADE,
    CONSTRAINT environment_ports_container_port_key
        UNIQUE (environment_id, container_port, protocol),
    CONSTRAINT environment_ports_container_port_check CHECK (container_port BETWEEN 1 AND 65535),
    CONSTRAINT environment_ports_host_port_check
        CHECK (host_port IS NULL OR host_port BETWEEN 1024 AND 65535),
    CONSTRAINT environment_ports_bound_host_port_check
        CHECK (bound_host_port IS NULL OR bound_host_port BETWEEN 1 AND 65535),
    CONSTRAINT environment_ports_protocol_check CHECK (protocol IN ('tcp', 'udp'))
);
-- A fixed host port is taken across all environments.
CREATE UNIQUE INDEX IF NOT EXISTS environment_ports_host_port_key ON environment_ports (host_port)
    WHERE host_port IS NOT NULL;

CREATE TABLE IF NOT EXISTS environment_variables (
    id             UUID        NOT NULL,
    environment_id UUID        NOT NULL,
    key            TEXT        NOT NULL,
    value          TEXT        NOT NULL,
    is_encrypted   BOOLEAN     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT environment_variables_pkey PRIMARY KEY (id),
    CONSTRAINT environment_variables_environment_id_fkey
        FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE CASCADE,
    CONSTRAINT environment_variables_key_key UNIQUE (environment_id, key),
    CONSTRAINT environment_variables_key_check
        CHECK (char_length(key) BETWEEN 1 AND 128 AND key ~ '^[A-Z_][A-Z0-9_]*$')
);
-- Key rotation walks encrypted variables by id.
CREATE INDEX IF NOT EXISTS environment_variables_encrypted_idx ON environment_variables (id)
    WHERE is_encrypted;

CREATE TABLE IF NOT EXISTS sessions (
    id                   UUID        NOT NULL,
    environment_id       UUID        NOT NULL,
    session_type         TEXT        NOT NULL,
    session_name         TEXT        NOT NULL,
    status               TEXT        NOT NULL,
    pid                  BIGINT,
    idle_timeout_minutes INTEGER     NOT NULL DEFAULT 30,
    last_activity_at     TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_environment_id_fkey
        FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE CASCADE,
    CONSTRAINT sessions_session_type_check
        CHECK (session_type IN ('vscode_server', 'tmux', 'shell')),
    CONSTRAINT sessions_session_name_check CHECK (session_name ~ '^[A-Za-z0-9_-]{1,64}$'),
    CONSTRAINT sessions_status_check
        CHECK (status IN ('starting', 'active', 'idle', 'terminated')),
    CONSTRAINT sessions_idle_timeout_minutes_check CHECK (idle_timeout_minutes > 0)
);
-- (environment, type, name) is unique among live sessions only.
CREATE UNIQUE INDEX IF NOT EXISTS sessions_live_name_key
    ON sessions (environment_id, session_type, session_name) WHERE status <> 'terminated';
CREATE INDEX IF NOT EXISTS sessions_environment_id_idx ON sessions (environment_id, id);
-- The idle reaper: sessions in a state, oldest activity first.
CREATE INDEX IF NOT EXISTS sessions_status_activity_idx
    ON sessions (status, last_activity_at, id);
-- Purging old terminated sessions.
CREATE INDEX IF NOT EXISTS sessions_terminated_updated_at_idx ON sessions (updated_at)
    WHERE status = 'terminated';

CREATE TABLE IF NOT EXISTS extensions (
    id           UUID        NOT NULL,
    extension_id TEXT        NOT NULL,
    name         TEXT        NOT NULL,
    version      TEXT        NOT NULL,
    publisher    TEXT        NOT NULL,
    is_custom    BOOLEAN     NOT NULL,
    download_url TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT extensions_pkey PRIMARY KEY (id),
    CONSTRAINT extensions_extension_id_key UNIQUE (extension_id),
    CONSTRAINT extensions_extension_id_check CHECK (
        extension_id ~ '^[a-z0-9][a-z0-9_-]{0,127}\.[a-z0-9][a-z0-9_-]{0,127}$'),
    CONSTRAINT extensions_name_check CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT extensions_version_check CHECK (char_length(version) BETWEEN 1 AND 128),
    -- Only custom extensions are downloaded from a URL, and they always are.
    CONSTRAINT extensions_download_url_check CHECK (is_custom = (download_url IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS environment_extensions (
    id             UUID        NOT NULL,
    environment_id UUID        NOT NULL,
    extension_id   UUID        NOT NULL,
    status         TEXT        NOT NULL,
    error_message  TEXT,
    installed_at   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT environment_extensions_pkey PRIMARY KEY (id),
    CONSTRAINT environment_extensions_environment_id_fkey
        FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE CASCADE,
    CONSTRAINT environment_extensions_extension_id_fkey
        FOREIGN KEY (extension_id) REFERENCES extensions (id) ON DELETE RESTRICT,
    CONSTRAINT environment_extensions_extension_key UNIQUE (environment_id, extension_id),
    CONSTRAINT environment_extensions_status_check CHECK (
        status IN ('pending', 'installing', 'installed', 'failed', 'uninstalling', 'removed'))
);
CREATE INDEX IF NOT EXISTS environment_extensions_extension_id_idx
    ON environment_extensions (extension_id);
-- The installer: installations in a state, by id.
CREATE INDEX IF NOT EXISTS environment_extensions_status_idx ON environment_extensions (status, id);

CREATE TABLE IF NOT EXISTS logs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    environment_id UUID        NOT NULL,
    timestamp      TIMESTAMPTZ NOT NULL,
    stream         TEXT        NOT NULL,
    message        TEXT        NOT NULL,
    -- UTF-8 length of the message, so size retention never measures text.
    bytes          BIGINT      NOT NULL,
    CONSTRAINT logs_pkey PRIMARY KEY (id),
    CONSTRAINT logs_environment_id_fkey
        FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE CASCADE,
    CONSTRAINT logs_stream_check CHECK (stream IN ('stdout', 'stderr')),
    CONSTRAINT logs_bytes_check CHECK (bytes >= 0)
);
-- Queries and size retention walk one environment's lines by (timestamp, id).
CREATE INDEX IF NOT EXISTS logs_environment_timestamp_idx
    ON logs (environment_id, timestamp DESC, id DESC);
-- Age retention.
CREATE INDEX IF NOT EXISTS logs_timestamp_idx ON logs (timestamp);

CREATE TABLE IF NOT EXISTS api_keys (
    id           UUID        NOT NULL,
    user_id      UUID        NOT NULL,
    name         TEXT        NOT NULL,
    prefix       TEXT        NOT NULL,
    secret_hash  BYTEA       NOT NULL,
    scopes       TEXT[]      NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_keys_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_prefix_check CHECK (char_length(prefix) BETWEEN 1 AND 64),
    CONSTRAINT api_keys_secret_hash_check CHECK (octet_length(secret_hash) = 32),
    CONSTRAINT api_keys_scopes_check CHECK (
        array_position(scopes, NULL) IS NULL
        AND scopes <@ ARRAY['read', 'projects:write', 'environments:write',
                            'environments:lifecycle', 'environments:exec', 'teams:write',
                            'account:write', 'admin']::TEXT[])
);
CREATE INDEX IF NOT EXISTS api_keys_user_id_idx ON api_keys (user_id, id);

CREATE TABLE IF NOT EXISTS refresh_sessions (
    id         UUID        NOT NULL,
    user_id    UUID        NOT NULL,
    family_id  UUID        NOT NULL,
    token_hash BYTEA       NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    user_agent TEXT,
    ip         TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT refresh_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_sessions_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT refresh_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_sessions_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX IF NOT EXISTS refresh_sessions_family_id_idx ON refresh_sessions (family_id);
CREATE INDEX IF NOT EXISTS refresh_sessions_user_id_idx ON refresh_sessions (user_id, id);

-- Append-only and outlives what it describes: no foreign keys.
CREATE TABLE IF NOT EXISTS audit_events (
    id            UUID        NOT NULL,
    actor_type    TEXT        NOT NULL,
    actor_user_id UUID,
    actor_key_id  UUID,
    action        TEXT        NOT NULL,
    resource_type TEXT        NOT NULL,
    resource_id   TEXT        NOT NULL,
    team_id       UUID,
    details       JSONB       NOT NULL DEFAULT '{}'::jsonb,
    ip            TEXT,
    at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (id),
    CONSTRAINT audit_events_actor_type_check
        CHECK (actor_type IN ('user', 'api_key', 'system', 'anonymous')),
    -- A user is named exactly for user and key actors, a key exactly for key actors.
    CONSTRAINT audit_events_actor_check CHECK (
        (actor_user_id IS NOT NULL) = (actor_type IN ('user', 'api_key'))
        AND (actor_key_id IS NOT NULL) = (actor_type = 'api_key')),
    CONSTRAINT audit_events_details_check CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX IF NOT EXISTS audit_events_team_id_idx ON audit_events (team_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_events_actor_user_id_idx ON audit_events (actor_user_id, id DESC);
