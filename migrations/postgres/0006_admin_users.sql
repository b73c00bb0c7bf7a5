-- Accounts and cookie sessions for the organizers' console (issue 11). Only an Argon2id string
-- (libsodium's crypto_pwhash_str) of a password is stored, and only the SHA-256 of a session id.
-- A user name is never reused (a disabled user keeps its row) and never equals a token name, so
-- that an audit entry's actor names exactly one principal (both creations take one advisory lock
-- and look in the other table).
CREATE TABLE admin_users (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text NOT NULL CONSTRAINT admin_users_name_key UNIQUE,
  role                text NOT NULL CHECK (role IN ('admin', 'viewer')),
  password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  created_at          timestamptz NOT NULL,
  disabled_at         timestamptz,
  password_changed_at timestamptz NOT NULL
);

-- A session lives while it is not ended and was seen within the idle timeout (checked on use).
CREATE TABLE admin_sessions (
  id_hash      text PRIMARY KEY CHECK (length(id_hash) = 64),
  user_id      bigint NOT NULL REFERENCES admin_users (id),
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  ended_at     timestamptz,
  end_reason   text CHECK (end_reason IN ('logout', 'disabled', 'password'))
);
CREATE INDEX admin_sessions_open ON admin_sessions (user_id) WHERE ended_at IS NULL;
