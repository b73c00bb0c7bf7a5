-- Admin API (issue 4): bearer tokens, of which only a SHA-256 hash is ever stored.
-- Names are never reused, so that an audit entry's actor names exactly one token.
CREATE TABLE admin_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text NOT NULL CONSTRAINT admin_tokens_name_key UNIQUE,
  token_hash   text NOT NULL CONSTRAINT admin_tokens_token_hash_key UNIQUE
               CHECK (length(token_hash) = 64),
  created_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  last_used_at timestamptz
);

-- The admin list is newest first; the audit log is read newest first by id.
CREATE INDEX teams_created ON teams (created_at);
