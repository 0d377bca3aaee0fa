-- DESIGN §2 rules that 0001/0002 left to core, so that both backends' schemas hold them:
-- Argon2id password hashes, OpenSSH key types, and secret-looking variable keys (API_KEY,
-- SECRET, PASSWORD, TOKEN, PRIVATE_KEY) always encrypted.
--
-- Idempotent: `ADD CONSTRAINT` has no `IF NOT EXISTS`, so each one is added only when absent.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'users_password_hash_check') THEN
        ALTER TABLE users ADD CONSTRAINT users_password_hash_check
            CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'users_ssh_public_key_check') THEN
        ALTER TABLE users ADD CONSTRAINT users_ssh_public_key_check
            CHECK (ssh_public_key IS NULL
                   OR ssh_public_key ~ '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-[a-z0-9-]+) ');
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint WHERE conname = 'environment_variables_is_encrypted_check'
    ) THEN
        ALTER TABLE environment_variables ADD CONSTRAINT environment_variables_is_encrypted_check
            CHECK (is_encrypted OR key !~ '(API_KEY|SECRET|PASSWORD|TOKEN|PRIVATE_KEY)');
    END IF;
END
$$;
