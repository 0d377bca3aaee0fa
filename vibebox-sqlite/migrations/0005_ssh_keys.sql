-- Users' SSH public keys (`SshKey` in vibebox-core): what the SSH gateway signs users in with.
-- Same conventions as 0001.
--
-- A fingerprint names one key across all users (the login rule finds the user by it), so it
-- is unique over the whole table. Keys go with their user.
--
-- Profile keys (`users.ssh_public_key`) set before this migration are not copied here: SQLite
-- has no SHA-256 to compute their fingerprints. Setting the profile's key again registers it.

CREATE TABLE IF NOT EXISTS ssh_keys (
    id           BLOB    NOT NULL PRIMARY KEY CONSTRAINT id CHECK (length(id) = 16),
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CONSTRAINT name CHECK (length(name) BETWEEN 1 AND 100),
    algorithm    TEXT    NOT NULL
        CONSTRAINT algorithm CHECK (algorithm IN (
            'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
            'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-rsa')),
    -- The key blob in SSH wire format, standard base64.
    key_data     TEXT    NOT NULL
        CONSTRAINT key_data CHECK (length(key_data) BETWEEN 1 AND 16384),
    comment      TEXT,
    -- `SHA256:` and 43 characters of unpadded base64.
    fingerprint  TEXT    NOT NULL
        CONSTRAINT fingerprint CHECK (length(fingerprint) = 50 AND fingerprint GLOB 'SHA256:*'),
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS ssh_keys_fingerprint_key ON ssh_keys (fingerprint);
CREATE INDEX IF NOT EXISTS ssh_keys_user_id_idx ON ssh_keys (user_id, id);
