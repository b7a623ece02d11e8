-- Account state read on every request (src/accounts.rs): a disabled user's
-- sessions and agents stop at once, and every password change raises the
-- credential version, which ends every session made with the old password.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE users ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 0 CHECK (credential_version >= 0);
