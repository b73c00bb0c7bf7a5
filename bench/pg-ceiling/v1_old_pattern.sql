-- V1: the old backend's pattern. Lock the sequence row, then one statement per row, each its own
-- round trip, all while holding the lock: 16 round trips plus COMMIT per registration.
BEGIN;
SELECT last_number FROM id_sequences WHERE name = 'bench' FOR UPDATE;
UPDATE id_sequences SET last_number = last_number + 1 WHERE name = 'bench' RETURNING last_number AS num \gset
INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key, church_name, church_key, captain_name, captain_phone, captain_email, vice_name, vice_phone, vice_email, created_at, updated_at) VALUES ('BENCH-' || :num, 'bench', :num, 'bench-' || :num, 'Bench ' || :num, 'bench ' || :num, 'Bench Church', 'benchchurch' || :num, 'Captain Bench', '9000000000', 'c' || :num || '@bench.example', 'Vice Bench', '9000000001', 'v' || :num || '@bench.example', now(), now());
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P01', 'BENCH-' || :num, 1, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P02', 'BENCH-' || :num, 2, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P03', 'BENCH-' || :num, 3, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P04', 'BENCH-' || :num, 4, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P05', 'BENCH-' || :num, 5, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P06', 'BENCH-' || :num, 6, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P07', 'BENCH-' || :num, 7, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P08', 'BENCH-' || :num, 8, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P09', 'BENCH-' || :num, 9, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P10', 'BENCH-' || :num, 10, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P11', 'BENCH-' || :num, 11, 'Player Bench', 'Batsman');
INSERT INTO players (player_id, team_id, position, name, role) VALUES ('BENCH-' || :num || '-P12', 'BENCH-' || :num, 12, 'Player Bench', 'Batsman');
COMMIT;
