-- V2: the whole registration (counter, team, 12 players) as one statement in autocommit: the row
-- lock lasts one round trip plus the commit.
WITH s AS (
  UPDATE id_sequences SET last_number = last_number + 1 WHERE name = 'bench' RETURNING last_number AS num
), t AS (
  INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key, church_name, church_key, captain_name, captain_phone, captain_email, vice_name, vice_phone, vice_email, created_at, updated_at)
  SELECT 'BENCH-' || num, 'bench', num, 'bench-' || num, 'Bench ' || num, 'bench ' || num, 'Bench Church', 'benchchurch' || num, 'Captain Bench', '9000000000', 'c' || num || '@bench.example', 'Vice Bench', '9000000001', 'v' || num || '@bench.example', now(), now()
  FROM s RETURNING team_id
)
INSERT INTO players (player_id, team_id, position, name, role)
SELECT t.team_id || '-P' || lpad(g::text, 2, '0'), t.team_id, g, 'Player Bench', 'Batsman'
FROM t, generate_series(1, 12) AS g;
