-- Users' SSH public keys (`SshKey` in vibebox-core): what the SSH gateway signs users in with.
-- Idempotent, like 0001.
--
-- A fingerprint names one key across all users (the login rule finds the user by it), so it
-- is unique over the whole table. Keys go with their user.
--
-- Profile keys (`users.ssh_public_key`) set before this migration are not copied here, as in
-- the SQLite store (which cannot compute their fingerprints): setting the profile's key again
-- registers it.

CREATE TABLE IF NOT EXISTS ssh_keys (
    id           UUID        NOT NULL,
    user_id      UUID        NOT NULL,
    name         TEXT        NOT NULL,
    algorithm    TEXT        NOT NULL,
    -- The key blob in SSH wire format, standard base64.
    key_data     TEXT        NOT NULL,
    comment      TEXT,
    -- `SHA256:` and 43 characters of unpadded base64.
    fingerprint  TEXT        NOT NULL,
    last_used_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT ssh_keys_pkey PRIMARY KEY (id),
    CONSTRAINT ssh_keys_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ssh_keys_fingerprint_key UNIQUE (fingerprint),
    CONSTRAINT ssh_keys_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT ssh_keys_algorithm_check CHECK (algorithm IN (
        'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
        'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-rsa')),
    CONSTRAINT ssh_keys_key_data_check CHECK (char_length(key_data) BETWEEN 1 AND 16384),
    CONSTRAINT ssh_keys_fingerprint_check
        CHECK (char_length(fingerprint) = 50 AND fingerprint LIKE 'SHA256:%')
);
CREATE INDEX IF NOT EXISTS ssh_keys_user_id_idx ON ssh_keys (user_id, id);
