-- teamreg schema, PostgreSQL dialect. Never edit once applied: add a new numbered file.
-- Same tables, columns and constraints as migrations/sqlite/0001_initial.sql; times are timestamptz
-- (stored to the millisecond) and are formatted by the adapter as ISO 8601 UTC with `Z`.
CREATE TABLE id_sequences (
  name        text PRIMARY KEY,
  prefix      text NOT NULL,
  min_width   integer NOT NULL CHECK (min_width BETWEEN 1 AND 12),
  last_number bigint NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE teams (
  team_id          text PRIMARY KEY,
  sequence_name    text NOT NULL,
  number           bigint NOT NULL,
  request_uuid     text NOT NULL CONSTRAINT teams_request_uuid_key UNIQUE,
  team_name        text NOT NULL,
  team_key         text NOT NULL,
  church_name      text NOT NULL,
  church_key       text NOT NULL,
  captain_name     text NOT NULL,
  captain_phone    text NOT NULL,
  captain_email    text NOT NULL,
  captain_whatsapp text NOT NULL DEFAULT '',
  vice_name        text NOT NULL,
  vice_phone       text NOT NULL,
  vice_email       text NOT NULL,
  vice_whatsapp    text NOT NULL DEFAULT '',
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'confirmed', 'rejected')),
  status_reason    text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  CONSTRAINT teams_sequence_number_key UNIQUE (sequence_name, number)
);
-- A rejected team frees its captain e-mail, its (team name, phone) pair and its church slot.
CREATE UNIQUE INDEX teams_active_captain_email ON teams (captain_email) WHERE status <> 'rejected';
CREATE UNIQUE INDEX teams_active_name_phone ON teams (team_key, captain_phone) WHERE status <> 'rejected';
CREATE INDEX teams_active_church ON teams (church_key) WHERE status <> 'rejected';

CREATE TABLE players (
  player_id text PRIMARY KEY,
  team_id   text NOT NULL REFERENCES teams (team_id),
  position  integer NOT NULL,
  name      text NOT NULL,
  role      text NOT NULL DEFAULT '',
  CONSTRAINT players_team_position_key UNIQUE (team_id, position)
);

CREATE TABLE documents (
  team_id      text NOT NULL REFERENCES teams (team_id),
  field        text NOT NULL,
  storage_key  text NOT NULL CONSTRAINT documents_storage_key_key UNIQUE,
  content_type text NOT NULL,
  size_bytes   bigint NOT NULL,
  PRIMARY KEY (team_id, field)
);

CREATE TABLE idempotency_keys (
  key         text PRIMARY KEY,
  fingerprint text NOT NULL,
  status      integer NOT NULL,
  body        text NOT NULL,
  team_id     text,
  created_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  subject    text NOT NULL,
  from_value text,
  to_value   text,
  detail     text
);

-- How every stored time is shown: ISO 8601 UTC, milliseconds, `Z` (as core/clock.hpp formats them).
CREATE FUNCTION teamreg_iso8601(t timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT
AS $function$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $function$;

-- Group commit in one statement, so one round trip, one transaction and one WAL flush per batch
-- (called in autocommit: SELECT teamreg_register_batch($1, $2, $3)).
--
-- p_batch is a JSON array of registrations prepared by the adapter, in arrival order. Each carries
-- its data, its precomputed keys (team_key, church_key), the 201 body split around the team ID
-- (body_head || to_jsonb(team_id)::text || body_tail, so the body is byte-identical to the C++
-- registered_body()), and the error bodies to store for an Idempotency-Key (by outcome).
-- Returns a JSON array with one outcome per registration, same order:
--   {"o":"committed","number":n,"team_id":"..","body":".."}   a new team, or the team this
--                                                             request_uuid already committed
--   {"o":"replayed","status":n,"body":".."}                   stored Idempotency-Key response
--   {"o":"reused"|"email"|"team"|"church"|"constraint","backstop":b}   refused; backstop = decided
--                                                             by a unique index, not by a check
--
-- Race safety across processes: the sequence row is locked FIRST, once, for the whole
-- transaction. In READ COMMITTED every later statement of this VOLATILE function takes a fresh
-- snapshot, so each check sees every registration committed before ours by any process (they all
-- take this lock before inserting teams). Under REPEATABLE READ/SERIALIZABLE the lock statement
-- fails with 40001 if the row changed since the snapshot, which the caller retries.
-- Each registration runs in its own BEGIN ... EXCEPTION block (a subtransaction): a failure rolls
-- back only its own increment and rows. Checks come before the increment so a rejected
-- registration writes nothing and uses no subtransaction ID.
CREATE FUNCTION teamreg_register_batch(p_sequence text, p_teams_per_church integer, p_batch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $function$
DECLARE
  r           jsonb;
  v_results   jsonb[] := '{}';
  v_key       text;
  v_outcome   text;
  v_number    bigint;
  v_team_id   text;
  v_body      text;
  v_status    integer;
  v_prefix    text;
  v_width     integer;
  v_digits    text;
  v_now       timestamptz;
  v_existing  record;
  v_stored    record;
  v_church    bigint;
  v_error     jsonb;
  v_constraint text;
  v_backstop  boolean;
BEGIN
  PERFORM 1 FROM id_sequences WHERE name = p_sequence FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'sequence row missing' USING ERRCODE = 'no_data_found';
  END IF;

  FOR i IN 0 .. jsonb_array_length(p_batch) - 1 LOOP
    r := p_batch -> i;
    v_key := r ->> 'idempotency_key';
    v_outcome := NULL;
    v_number := NULL;
    v_team_id := NULL;
    v_body := NULL;
    v_status := NULL;
    v_backstop := false;
    BEGIN
      -- The same request committed already (its commit acknowledgement was lost and the batch is
      -- being retried): answer with that team, allocate nothing.
      SELECT t.team_id, t.number INTO v_existing FROM teams t WHERE t.request_uuid = r ->> 'request_uuid';
      IF FOUND THEN
        v_outcome := 'existing';
        v_team_id := v_existing.team_id;
        v_number := v_existing.number;
        RAISE EXCEPTION USING ERRCODE = 'TRB01';
      END IF;

      IF v_key IS NOT NULL THEN
        SELECT k.fingerprint, k.status, k.body INTO v_stored FROM idempotency_keys k
          WHERE k.key = v_key AND k.created_at > clock_timestamp() - interval '24 hours';
        IF FOUND THEN
          IF v_stored.fingerprint <> r ->> 'fingerprint' THEN
            v_outcome := 'reused';
          ELSE
            v_outcome := 'replayed';
            v_status := v_stored.status;
            v_body := v_stored.body;
          END IF;
          RAISE EXCEPTION USING ERRCODE = 'TRB01';
        END IF;
      END IF;

      IF EXISTS (SELECT 1 FROM teams t WHERE t.captain_email = r ->> 'captain_email'
                 AND t.status <> 'rejected') THEN
        v_outcome := 'email';
        RAISE EXCEPTION USING ERRCODE = 'TRB01';
      END IF;
      IF EXISTS (SELECT 1 FROM teams t WHERE t.team_key = r ->> 'team_key'
                 AND t.captain_phone = r ->> 'captain_phone' AND t.status <> 'rejected') THEN
        v_outcome := 'team';
        RAISE EXCEPTION USING ERRCODE = 'TRB01';
      END IF;
      SELECT count(*) INTO v_church FROM teams t
        WHERE t.church_key = r ->> 'church_key' AND t.status <> 'rejected';
      IF v_church >= p_teams_per_church THEN
        v_outcome := 'church';
        RAISE EXCEPTION USING ERRCODE = 'TRB01';
      END IF;

      UPDATE id_sequences SET last_number = last_number + 1 WHERE name = p_sequence
        RETURNING prefix, min_width, last_number INTO v_prefix, v_width, v_number;
      v_digits := v_number::text;
      -- Zero-pad to the minimum width, never truncate (ICCT-1000 after ICCT-999).
      IF length(v_digits) < v_width THEN
        v_digits := lpad(v_digits, v_width, '0');
      END IF;
      v_team_id := v_prefix || '-' || v_digits;
      v_now := date_trunc('milliseconds', clock_timestamp());

      INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key,
                         church_name, church_key, captain_name, captain_phone, captain_email,
                         captain_whatsapp, vice_name, vice_phone, vice_email, vice_whatsapp,
                         status, created_at, updated_at)
      VALUES (v_team_id, p_sequence, v_number, r ->> 'request_uuid', r ->> 'team_name',
              r ->> 'team_key', r ->> 'church_name', r ->> 'church_key', r ->> 'captain_name',
              r ->> 'captain_phone', r ->> 'captain_email', r ->> 'captain_whatsapp',
              r ->> 'vice_name', r ->> 'vice_phone', r ->> 'vice_email', r ->> 'vice_whatsapp',
              'pending', v_now, v_now);

      INSERT INTO players (player_id, team_id, position, name, role)
      SELECT v_team_id || '-P' || CASE WHEN p.position < 10 THEN '0' ELSE '' END || p.position::text,
             v_team_id, p.position::integer, p.value ->> 'name', p.value ->> 'role'
        FROM jsonb_array_elements(r -> 'players') WITH ORDINALITY AS p(value, position);

      INSERT INTO documents (team_id, field, storage_key, content_type, size_bytes)
      SELECT v_team_id, d.value ->> 'field', d.value ->> 'storage_key', d.value ->> 'content_type',
             (d.value ->> 'size_bytes')::bigint
        FROM jsonb_array_elements(r -> 'documents') AS d(value);

      v_body := (r ->> 'body_head') || to_jsonb(v_team_id)::text || (r ->> 'body_tail');
      IF v_key IS NOT NULL THEN
        INSERT INTO idempotency_keys AS k (key, fingerprint, status, body, team_id, created_at)
        VALUES (v_key, r ->> 'fingerprint', 201, v_body, v_team_id, v_now)
        ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
          body = excluded.body, team_id = excluded.team_id, created_at = excluded.created_at;
      END IF;
      v_outcome := 'committed';
    EXCEPTION
      WHEN SQLSTATE 'TRB01' THEN
        NULL;  -- a business outcome decided above; this block's changes are rolled back
      WHEN unique_violation THEN
        -- Backstop: the checks above run under the sequence lock, so these are not expected.
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        -- Players and documents carry server-generated keys: a clash there is a bug, which
        -- fails the statement as it fails the SQLite transaction.
        IF v_constraint NOT IN ('teams_pkey', 'teams_request_uuid_key', 'teams_sequence_number_key',
                                'teams_active_captain_email', 'teams_active_name_phone') THEN
          RAISE;
        END IF;
        v_backstop := true;
        v_outcome := CASE v_constraint
                       WHEN 'teams_active_captain_email' THEN 'email'
                       WHEN 'teams_active_name_phone' THEN 'team'
                       WHEN 'teams_request_uuid_key' THEN 'uuid'
                       ELSE 'constraint'
                     END;
    END;

    IF v_outcome = 'uuid' THEN
      SELECT t.team_id, t.number INTO v_existing FROM teams t WHERE t.request_uuid = r ->> 'request_uuid';
      IF FOUND THEN
        v_outcome := 'existing';
        v_team_id := v_existing.team_id;
        v_number := v_existing.number;
      ELSE
        v_outcome := 'constraint';
      END IF;
    END IF;

    IF v_outcome IN ('committed', 'existing') THEN
      IF v_outcome = 'existing' THEN
        v_body := (r ->> 'body_head') || to_jsonb(v_team_id)::text || (r ->> 'body_tail');
      END IF;
      v_results := v_results || jsonb_build_object('o', 'committed', 'number', v_number,
                                                   'team_id', v_team_id, 'body', v_body);
    ELSIF v_outcome = 'replayed' THEN
      v_results := v_results || jsonb_build_object('o', 'replayed', 'status', v_status, 'body', v_body);
    ELSE
      -- A refused registration's answer is stored for its Idempotency-Key too (not for a reused
      -- key: that answer belongs to the other request).
      IF v_key IS NOT NULL AND v_outcome <> 'reused' THEN
        v_error := r -> 'errors' -> v_outcome;
        INSERT INTO idempotency_keys AS k (key, fingerprint, status, body, team_id, created_at)
        VALUES (v_key, r ->> 'fingerprint', (v_error ->> 'status')::integer, v_error ->> 'body',
                NULL, date_trunc('milliseconds', clock_timestamp()))
        ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
          body = excluded.body, team_id = excluded.team_id, created_at = excluded.created_at;
      END IF;
      v_results := v_results || jsonb_build_object('o', v_outcome, 'backstop', v_backstop);
    END IF;
  END LOOP;
  RETURN to_jsonb(v_results);
END;
$function$;
