-- E-mail outbox (issue 10): one row per notification, written in the same transaction as the
-- change that causes it (a registration, a confirm, a reject) and delivered by a worker.
-- Recipients are copied from the team when the row is written: the outbox never sends anywhere
-- else. Bodies are not stored; they are rendered from the team when the mail is sent.
CREATE TABLE mail_outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT NOT NULL CHECK (kind IN ('received', 'confirmed', 'rejected')),
  team_id         TEXT NOT NULL REFERENCES teams (team_id),
  recipient       TEXT NOT NULL,
  cc              TEXT NOT NULL DEFAULT '',
  reason          TEXT,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      TEXT NOT NULL,
  -- When the row may next be claimed. A claim moves it past the lease, so a worker that dies
  -- mid-send leaves a row that another claims once the lease has run out.
  next_attempt_at TEXT NOT NULL,
  claim           TEXT,
  sent_at         TEXT,
  last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_status ON mail_outbox (status, id);
-- A registration is acknowledged by mail once, however often its commit is retried.
CREATE UNIQUE INDEX mail_outbox_received_once ON mail_outbox (team_id) WHERE kind = 'received';
