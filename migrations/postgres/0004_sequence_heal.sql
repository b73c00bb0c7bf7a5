-- A sequence behind the issued numbers heals itself (issue 9), and the answers stored for an
-- Idempotency-Key are opaque bytes from the application, status included.
--
-- Before: a sequence behind the highest issued number (a restored backup, a row inserted by hand)
-- made every registration hit a unique index on its team ID and come back as a DUPLICATE_TEAM
-- refusal, stored under its Idempotency-Key. A server-side inconsistency is never the
-- registrant's fault: now the transaction raises the sequence to the highest issued number (never
-- lowers it), audits the raise, reports it to the caller (which logs a warning with both numbers)
-- and allocates again. Both paths heal: the set-based one retries itself once, the one-by-one one
-- retries the registration. If the number is still taken after a raise, the rows contradict each
-- other: the statement fails (nothing is stored) rather than refusing anybody.
--
-- Registrations now carry created_status next to body_head/body_tail, so the database stores
-- the application's status for a commit as it already did for refusals. Processes of the previous
-- release may still be running during a rolling upgrade: for them a missing created_status means
-- 201, and committed outcomes still carry the spliced "body" they read.

-- Raises the sequence to the highest number stored under its prefix or in the sequence, never
-- lowers it, and audits a raise. from_number is last_number before; to_number the highest stored
-- number (equal to from_number when nothing was raised). Call with the sequence row locked.
CREATE FUNCTION teamreg_heal_sequence(p_sequence text, OUT from_number bigint, OUT to_number bigint)
LANGUAGE plpgsql
AS $function$
DECLARE
  v_prefix text;
BEGIN
  SELECT s.prefix, s.last_number INTO v_prefix, from_number FROM id_sequences s
   WHERE s.name = p_sequence FOR NO KEY UPDATE;
  -- The suffix must be all digits, as for startup sync (ICCT-X1 or OTHER-009 do not count).
  SELECT greatest(
           (SELECT COALESCE(MAX(substr(t.team_id, length(v_prefix) + 2)::bigint), 0) FROM teams t
             WHERE left(t.team_id, length(v_prefix) + 1) = v_prefix || '-'
               AND substr(t.team_id, length(v_prefix) + 2) ~ '^[0-9]{1,18}$'),
           (SELECT COALESCE(MAX(t.number), 0) FROM teams t WHERE t.sequence_name = p_sequence))
    INTO to_number;
  IF to_number > from_number THEN
    UPDATE id_sequences SET last_number = to_number WHERE name = p_sequence;
    INSERT INTO audit_log (at, actor, action, subject, from_value, to_value, detail)
    VALUES (date_trunc('milliseconds', clock_timestamp()), 'committer', 'sequence.heal', p_sequence,
            from_number::text, to_number::text,
            'the next number was taken: raised to the highest issued number');
  ELSE
    to_number := from_number;
  END IF;
END;
$function$;

-- The contract of 0001's function, plus: a registration whose team ID or number is taken raises
-- the sequence and tries again; outcomes may carry "healed": [{"from": n, "to": m}, ...].
CREATE OR REPLACE FUNCTION teamreg_register_one_by_one(p_sequence text, p_teams_per_church integer,
                                                       p_batch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $function$
DECLARE
  r           jsonb;
  v_results   jsonb[] := '{}';
  v_result    jsonb;
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
  v_heal      record;
  v_healed    jsonb;
BEGIN
  PERFORM 1 FROM id_sequences WHERE name = p_sequence FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'sequence row missing' USING ERRCODE = 'no_data_found';
  END IF;

  FOR i IN 0 .. jsonb_array_length(p_batch) - 1 LOOP
    r := p_batch -> i;
    v_key := r ->> 'idempotency_key';
    v_healed := '[]';
    <<attempt>>
    LOOP
      v_outcome := NULL;
      v_number := NULL;
      v_team_id := NULL;
      v_body := NULL;
      v_status := NULL;
      v_backstop := false;
      BEGIN
        -- The same request committed already (its commit acknowledgement was lost and the batch
        -- is being retried): answer with that team, allocate nothing.
        SELECT t.team_id, t.number INTO v_existing FROM teams t
         WHERE t.request_uuid = r ->> 'request_uuid';
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
        SELECT v_team_id || '-P' || CASE WHEN p.position < 10 THEN '0' ELSE '' END
               || p.position::text,
               v_team_id, p.position::integer, p.value ->> 'name', p.value ->> 'role'
          FROM jsonb_array_elements(r -> 'players') WITH ORDINALITY AS p(value, position);

        INSERT INTO documents (team_id, field, storage_key, content_type, size_bytes)
        SELECT v_team_id, d.value ->> 'field', d.value ->> 'storage_key',
               d.value ->> 'content_type', (d.value ->> 'size_bytes')::bigint
          FROM jsonb_array_elements(r -> 'documents') AS d(value);

        v_body := (r ->> 'body_head') || to_jsonb(v_team_id)::text || (r ->> 'body_tail');
        IF v_key IS NOT NULL THEN
          INSERT INTO idempotency_keys AS k (key, fingerprint, status, body, team_id, created_at)
          VALUES (v_key, r ->> 'fingerprint', COALESCE((r ->> 'created_status')::integer, 201),
                  v_body, v_team_id, v_now)
          ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint,
            status = excluded.status, body = excluded.body, team_id = excluded.team_id,
            created_at = excluded.created_at;
        END IF;
        v_outcome := 'committed';
      EXCEPTION
        WHEN SQLSTATE 'TRB01' THEN
          NULL;  -- a business outcome decided above; this block's changes are rolled back
        WHEN unique_violation THEN
          GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
          IF v_constraint IN ('teams_pkey', 'teams_sequence_number_key') THEN
            -- The number is taken: the sequence is behind. Not the registrant's doing.
            v_outcome := 'taken';
          ELSIF v_constraint IN ('teams_request_uuid_key', 'teams_active_captain_email',
                                 'teams_active_name_phone') THEN
            -- Backstop: the checks above run under the sequence lock, so these are not expected.
            v_backstop := true;
            v_outcome := CASE v_constraint
                           WHEN 'teams_active_captain_email' THEN 'email'
                           WHEN 'teams_active_name_phone' THEN 'team'
                           ELSE 'uuid'
                         END;
          ELSE
            -- Players and documents carry server-generated keys: a clash there is a bug, which
            -- fails the statement as it fails the SQLite transaction.
            RAISE;
          END IF;
      END;
      EXIT attempt WHEN v_outcome <> 'taken';
      -- The block above rolled back its increment; raise past every issued number and retry.
      SELECT * INTO v_heal FROM teamreg_heal_sequence(p_sequence);
      IF v_heal.to_number <= v_heal.from_number OR jsonb_array_length(v_healed) >= 3 THEN
        RAISE EXCEPTION 'team number taken and the sequence is not behind' USING ERRCODE = 'TRB02';
      END IF;
      v_healed := v_healed || jsonb_build_object('from', v_heal.from_number,
                                                 'to', v_heal.to_number);
    END LOOP;

    IF v_outcome = 'uuid' THEN
      SELECT t.team_id, t.number INTO v_existing FROM teams t
       WHERE t.request_uuid = r ->> 'request_uuid';
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
      v_result := jsonb_build_object('o', 'committed', 'number', v_number, 'team_id', v_team_id,
                                     'body', v_body);
    ELSIF v_outcome = 'replayed' THEN
      v_result := jsonb_build_object('o', 'replayed', 'status', v_status, 'body', v_body);
    ELSE
      -- A refused registration's answer is stored for its Idempotency-Key too (not for a reused
      -- key: that answer belongs to the other request).
      IF v_key IS NOT NULL AND v_outcome <> 'reused' THEN
        v_error := r -> 'errors' -> v_outcome;
        INSERT INTO idempotency_keys AS k (key, fingerprint, status, body, team_id, created_at)
        VALUES (v_key, r ->> 'fingerprint', (v_error ->> 'status')::integer, v_error ->> 'body',
                NULL, date_trunc('milliseconds', clock_timestamp()))
        ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint,
          status = excluded.status, body = excluded.body, team_id = excluded.team_id,
          created_at = excluded.created_at;
      END IF;
      v_result := jsonb_build_object('o', v_outcome, 'backstop', v_backstop);
    END IF;
    IF jsonb_array_length(v_healed) > 0 THEN
      v_result := v_result || jsonb_build_object('healed', v_healed);
    END IF;
    v_results := v_results || v_result;
  END LOOP;
  RETURN to_jsonb(v_results);
END;
$function$;

-- The contract of 0003's function, plus: when the set-based insert finds a team ID or number
-- taken, the sequence is raised and the set-based path is tried once more before falling back
-- to the one-by-one function; the first outcome then carries "healed".
CREATE OR REPLACE FUNCTION teamreg_register_batch(p_sequence text, p_teams_per_church integer,
                                                  p_batch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $function$
DECLARE
  v_count      integer := jsonb_array_length(p_batch);
  v_prefix     text;
  v_width      integer;
  v_base       bigint;
  v_ids        text[];
  v_now        timestamptz;
  v_results    jsonb;
  v_constraint text;
  v_heal       record;
  v_healed     jsonb := '[]';
BEGIN
  PERFORM 1 FROM id_sequences WHERE name = p_sequence FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'sequence row missing' USING ERRCODE = 'no_data_found';
  END IF;
  -- Below four registrations the loop is as fast (measured with pgbench: the set-based path costs
  -- ~0.3 ms more for one, breaks even near four, and takes half the time at 48).
  IF v_count < 4 OR NOT teamreg_batch_is_clean(p_teams_per_church, p_batch) THEN
    RETURN teamreg_register_one_by_one(p_sequence, p_teams_per_church, p_batch);
  END IF;

  FOR v_try IN 1 .. 2 LOOP
    BEGIN
      UPDATE id_sequences SET last_number = last_number + v_count WHERE name = p_sequence
        RETURNING prefix, min_width, last_number - v_count INTO v_prefix, v_width, v_base;
      -- The batch's team IDs, in arrival order; zero-padded to the minimum width, never truncated.
      SELECT array_agg(v_prefix || '-' || lpad((v_base + g)::text,
                                               greatest(v_width, length((v_base + g)::text)), '0')
                       ORDER BY g)
        INTO v_ids
        FROM generate_series(1, v_count) AS g;
      v_now := date_trunc('milliseconds', clock_timestamp());

      INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key,
                         church_name, church_key, captain_name, captain_phone, captain_email,
                         captain_whatsapp, vice_name, vice_phone, vice_email, vice_whatsapp,
                         status, created_at, updated_at)
      SELECT v_ids[x.i], p_sequence, v_base + x.i, x.request_uuid, x.team_name, x.team_key,
             x.church_name, x.church_key, x.captain_name, x.captain_phone, x.captain_email,
             x.captain_whatsapp, x.vice_name, x.vice_phone, x.vice_email, x.vice_whatsapp,
             'pending', v_now, v_now
        FROM ROWS FROM (jsonb_to_recordset(p_batch)
               AS (request_uuid text, team_name text, team_key text, church_name text,
                   church_key text, captain_name text, captain_phone text, captain_email text,
                   captain_whatsapp text, vice_name text, vice_phone text, vice_email text,
                   vice_whatsapp text)) WITH ORDINALITY
          AS x(request_uuid, team_name, team_key, church_name, church_key, captain_name,
               captain_phone, captain_email, captain_whatsapp, vice_name, vice_phone, vice_email,
               vice_whatsapp, i)
       ORDER BY x.i;

      INSERT INTO players (player_id, team_id, position, name, role)
      SELECT v_ids[x.i] || '-P' || CASE WHEN p.position < 10 THEN '0' ELSE '' END
             || p.position::text,
             v_ids[x.i], p.position::integer, p.name, p.role
        FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(r, i)
       CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(x.r -> 'players') AS (name text, role text))
             WITH ORDINALITY AS p(name, role, position)
       ORDER BY x.i, p.position;

      INSERT INTO documents (team_id, field, storage_key, content_type, size_bytes)
      SELECT v_ids[x.i], d.field, d.storage_key, d.content_type, d.size_bytes
        FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(r, i)
       CROSS JOIN LATERAL jsonb_to_recordset(x.r -> 'documents')
          AS d(field text, storage_key text, content_type text, size_bytes bigint);

      WITH b AS (
        SELECT x.i, v_ids[x.i] AS id,
               x.body_head || to_jsonb(v_ids[x.i])::text || x.body_tail AS body,
               x.created_status, x.idempotency_key, x.fingerprint
          FROM ROWS FROM (jsonb_to_recordset(p_batch)
                 AS (body_head text, body_tail text, created_status integer,
                     idempotency_key text, fingerprint text))
               WITH ORDINALITY AS x(body_head, body_tail, created_status, idempotency_key,
                                    fingerprint, i)
      ), keyed AS (
        INSERT INTO idempotency_keys AS k (key, fingerprint, status, body, team_id, created_at)
        SELECT b.idempotency_key, b.fingerprint, COALESCE(b.created_status, 201), b.body, b.id,
               v_now
          FROM b
         WHERE b.idempotency_key IS NOT NULL
        ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint,
          status = excluded.status, body = excluded.body, team_id = excluded.team_id,
          created_at = excluded.created_at
      )
      SELECT jsonb_agg(jsonb_build_object('o', 'committed', 'number', v_base + b.i, 'team_id',
                                          b.id, 'body', b.body)
                       ORDER BY b.i)
        INTO v_results
        FROM b;
      IF jsonb_array_length(v_healed) > 0 THEN
        v_results := jsonb_set(v_results, '{0,healed}', v_healed);
      END IF;
      RETURN v_results;
    EXCEPTION
      WHEN unique_violation THEN
        -- Everything in the block is rolled back. A taken team ID or number means the sequence
        -- is behind: raise it and try the set-based path once more. Anything else (or a second
        -- clash): decide one by one.
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_try > 1 OR v_constraint NOT IN ('teams_pkey', 'teams_sequence_number_key') THEN
          EXIT;
        END IF;
    END;
    SELECT * INTO v_heal FROM teamreg_heal_sequence(p_sequence);
    EXIT WHEN v_heal.to_number <= v_heal.from_number;
    v_healed := v_healed || jsonb_build_object('from', v_heal.from_number, 'to', v_heal.to_number);
  END LOOP;
  v_results := teamreg_register_one_by_one(p_sequence, p_teams_per_church, p_batch);
  IF jsonb_array_length(v_healed) > 0 THEN
    v_results := jsonb_set(v_results, '{0,healed}',
                           v_healed || COALESCE(v_results -> 0 -> 'healed', '[]'));
  END IF;
  RETURN v_results;
END;
$function$;
