-- Admin API (issue 4): bearer tokens, of which only a SHA-256 hash is ever stored.
-- Names are never reused, so that an audit entry's actor names exactly one token.
CREATE TABLE admin_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  created_at   TEXT NOT NULL,
  revoked_at   TEXT,
  last_used_at TEXT
);

-- The admin list is newest first; the audit log is read newest first by id.
CREATE INDEX teams_created ON teams (created_at);
