-- teamreg schema, SQLite dialect. Never edit once applied: add a new numbered file.
CREATE TABLE id_sequences (
  name        TEXT PRIMARY KEY,
  prefix      TEXT NOT NULL,
  min_width   INTEGER NOT NULL CHECK (min_width BETWEEN 1 AND 12),
  last_number INTEGER NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE teams (
  team_id          TEXT PRIMARY KEY,
  sequence_name    TEXT NOT NULL,
  number           INTEGER NOT NULL,
  request_uuid     TEXT NOT NULL UNIQUE,
  team_name        TEXT NOT NULL,
  team_key         TEXT NOT NULL,
  church_name      TEXT NOT NULL,
  church_key       TEXT NOT NULL,
  captain_name     TEXT NOT NULL,
  captain_phone    TEXT NOT NULL,
  captain_email    TEXT NOT NULL,
  captain_whatsapp TEXT NOT NULL DEFAULT '',
  vice_name        TEXT NOT NULL,
  vice_phone       TEXT NOT NULL,
  vice_email       TEXT NOT NULL,
  vice_whatsapp    TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'confirmed', 'rejected')),
  status_reason    TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  UNIQUE (sequence_name, number)
);
-- A rejected team frees its captain e-mail, its (team name, phone) pair and its church slot.
CREATE UNIQUE INDEX teams_active_captain_email ON teams (captain_email) WHERE status <> 'rejected';
CREATE UNIQUE INDEX teams_active_name_phone ON teams (team_key, captain_phone) WHERE status <> 'rejected';
CREATE INDEX teams_active_church ON teams (church_key) WHERE status <> 'rejected';

CREATE TABLE players (
  player_id TEXT PRIMARY KEY,
  team_id   TEXT NOT NULL REFERENCES teams (team_id),
  position  INTEGER NOT NULL,
  name      TEXT NOT NULL,
  role      TEXT NOT NULL DEFAULT '',
  UNIQUE (team_id, position)
);

CREATE TABLE documents (
  team_id      TEXT NOT NULL REFERENCES teams (team_id),
  field        TEXT NOT NULL,
  storage_key  TEXT NOT NULL UNIQUE,
  content_type TEXT NOT NULL,
  size_bytes   INTEGER NOT NULL,
  PRIMARY KEY (team_id, field)
);

CREATE TABLE idempotency_keys (
  key         TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status      INTEGER NOT NULL,
  body        TEXT NOT NULL,
  team_id     TEXT,
  created_at  TEXT NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         TEXT NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  subject    TEXT NOT NULL,
  from_value TEXT,
  to_value   TEXT,
  detail     TEXT
);
