-- E-mail outbox (issue 10): one row per notification, written in the same transaction as the
-- change that causes it (a registration, a confirm, a reject) and delivered by a worker in each
-- process. Recipients are copied from the team when the row is written: the outbox never sends
-- anywhere else. Bodies are not stored; they are rendered from the team when the mail is sent.
CREATE TABLE mail_outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('received', 'confirmed', 'rejected')),
  team_id         text NOT NULL REFERENCES teams (team_id),
  recipient       text NOT NULL,
  cc              text NOT NULL DEFAULT '',
  reason          text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL,
  -- When the row may next be claimed. A claim (FOR UPDATE SKIP LOCKED) moves it past the lease, so
  -- a process that dies mid-send leaves a row that another claims once the lease has run out.
  next_attempt_at timestamptz NOT NULL,
  claim           text,
  sent_at         timestamptz,
  last_error      text
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_status ON mail_outbox (status, id);
-- A registration is acknowledged by mail once, however often its commit is retried.
CREATE UNIQUE INDEX mail_outbox_received_once ON mail_outbox (team_id) WHERE kind = 'received';

-- teamreg_register_batch, and a `received` mail for each registration it committed, in the same
-- statement and so the same transaction. Used instead of teamreg_register_batch when mail is on.
CREATE FUNCTION teamreg_register_batch_with_mail(p_sequence text, p_teams_per_church integer,
                                                 p_batch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $function$
DECLARE
  v_results jsonb;
  v_now     timestamptz;
BEGIN
  v_results := teamreg_register_batch(p_sequence, p_teams_per_church, p_batch);
  v_now := date_trunc('milliseconds', clock_timestamp());
  INSERT INTO mail_outbox (kind, team_id, recipient, cc, created_at, next_attempt_at)
  SELECT 'received', t.team_id, t.captain_email, t.vice_email, v_now, v_now
    FROM jsonb_array_elements(v_results) AS r
    JOIN teams t ON t.team_id = r ->> 'team_id'
   WHERE r ->> 'o' = 'committed'
  ON CONFLICT DO NOTHING;
  RETURN v_results;
END;
$function$;
